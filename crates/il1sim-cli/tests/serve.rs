//! `il1sim serve` over real HTTP on loopback: the server survives bad requests, its numbers
//! are the commands' (CSV bytes equal to `il1sim simulate`, the band equal to bands.csv of
//! `il1sim population`), and a bounded load of 32 concurrent clients gets no error.

mod common;

use common::{il1sim, repo, tmp};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A server on a free loopback port, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Server {
        let mut child = il1sim()
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn post(c: &reqwest::Client, url: &str, body: &str) -> (u16, String) {
    let res = c
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Relative difference allowed when numbers pass through text twice: serde_json parses
/// decimal text to within a few units in the last place (its exact mode is a feature not
/// enabled here), while the CSV holds the shortest text that reads back exactly.
const TEXT_ROUND_TRIP: f64 = 1e-14;

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= TEXT_ROUND_TRIP * a.abs().max(b.abs())
}

const REGIMEN: &str = r#"{"dose": "100mg", "every": "24h", "days": 14, "disease": "ra", "weight": 80,
    "crcl": 50, "missed_dose": [5], "late_dose": ["8:4"]}"#;
const REGIMEN_ARGS: [&str; 16] = [
    "--dose",
    "100mg",
    "--every",
    "24h",
    "--days",
    "14",
    "--disease",
    "ra",
    "--weight",
    "80",
    "--crcl",
    "50",
    "--missed-dose",
    "5",
    "--late-dose",
    "8:4",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_time_courses_equal_the_simulate_command() {
    let server = Server::start();
    let c = client();
    let (status, csv) = post(&c, &format!("{}/api/csv", server.url), REGIMEN).await;
    assert_eq!(status, 200, "{csv}");
    let out = tmp("serve-csv");
    let run = il1sim()
        .arg("simulate")
        .args(REGIMEN_ARGS)
        .args(["--no-plot", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cli = std::fs::read_to_string(out.join("timecourse.csv")).unwrap();
    assert_eq!(
        csv, cli,
        "the explorer's CSV differs from il1sim simulate's"
    );
    // The JSON time courses are the same numbers.
    let (status, json) = post(&c, &format!("{}/api/simulate", server.url), REGIMEN).await;
    assert_eq!(status, 200, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut rows = csv::Reader::from_reader(cli.as_bytes());
    let header = rows.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), v["times_h"].as_array().unwrap().len());
    let model = il1sim_core::il1_model();
    let mut compared = 0;
    for o in v["observables"].as_array().unwrap() {
        let name = o["name"].as_str().unwrap();
        // timecourse.csv has time_h, then every observable of the model in order.
        let col = 1 + model.observable_id(name).unwrap();
        assert!(header[col].starts_with(name), "{name} vs {}", &header[col]);
        for (r, j) in records.iter().zip(o["values"].as_array().unwrap()) {
            let a: f64 = r[col].parse().unwrap();
            let b = j.as_f64().unwrap();
            assert!(close(a, b), "{name}: CSV {a} vs JSON {b}");
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared}");
    let _ = std::fs::remove_dir_all(out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_band_equals_the_population_command() {
    let server = Server::start();
    let c = client();
    let body = r#"{"dose": "100mg", "every": "24h", "days": 28, "disease": "ra", "subjects": 40}"#;
    let (status, json) = post(&c, &format!("{}/api/band", server.url), body).await;
    assert_eq!(status, 200, "{json}");
    let band: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(band["file"], "scenarios/ra-renal-population.toml");
    assert_eq!(band["subjects"], 40);
    // The band's default method (the file says exact; the command is told the same).
    assert_eq!(band["method"], "fast");
    let out = tmp("serve-band");
    let run = il1sim()
        .args(["population"])
        .arg(repo("scenarios/ra-renal-population.toml"))
        .args(["--subjects", "40", "--method", "fast", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.join("bands.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let times: Vec<f64> = band["times_h"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    let mut compared = 0;
    for row in reader.records() {
        let row = row.unwrap();
        if &row[0] != "100 mg daily" {
            continue;
        }
        let Some(series) = band["observables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == row[1])
        else {
            continue;
        };
        let t: f64 = row[3].parse().unwrap();
        let k = times
            .iter()
            .position(|x| close(*x, t))
            .unwrap_or_else(|| panic!("time {t}"));
        for p in 0..5 {
            let cli: f64 = row[4 + p].parse().unwrap();
            let api = series["values"][p][k].as_f64().unwrap();
            assert!(
                close(cli, api),
                "{} at {t} h, percentile {p}: CLI {cli} vs explorer {api}",
                &row[1]
            );
            compared += 1;
        }
    }
    // bands.csv of that file holds the drug, occupancy, signal, IL-6 and CRP at least.
    assert!(compared >= 5 * 169 * 4, "{compared}");
    let _ = std::fs::remove_dir_all(out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stays_up_after_bad_requests() {
    let server = Server::start();
    let c = client();
    let url = format!("{}/api/simulate", server.url);
    for (body, status) in [
        ("{not json".to_string(), 400),
        (r#"{"dose": "100mg", "days": -1}"#.to_string(), 422),
        (r#"{"dose": "100mg", "subjects": "many"}"#.to_string(), 400),
        (oversized_body(), 413),
    ] {
        let (s, text) = post(&c, &url, &body).await;
        assert_eq!(s, status, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{text}");
    }
    let (s, text) = post(&c, &url, r#"{"dose": "100mg"}"#).await;
    assert_eq!(s, 200, "{text}");
}

/// The server's body limit (`MAX_BODY_BYTES`, 16 KiB, in src/serve/request.rs).
const MAX_BODY_BYTES: usize = 16 * 1024;

/// A JSON body one byte over the limit. One byte over, not 1 MiB: the server stops reading at
/// the limit, answers 413 and closes, and a client still writing the rest of a larger body
/// may get a broken pipe instead of the answer (the race that made this test flaky). A body
/// of limit + 1 bytes is read whole before the answer.
fn oversized_body() -> String {
    let head = r#"{"dose": "100mg""#;
    format!(
        "{head}{}}}",
        " ".repeat(MAX_BODY_BYTES + 1 - head.len() - 1)
    )
}

#[test]
fn the_oversized_body_is_one_byte_over_the_limit() {
    let body = oversized_body();
    assert_eq!(body.len(), MAX_BODY_BYTES + 1);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
}

/// 32 clients at once, 16 one-patient requests each (512 in all, bounded by count; each
/// request times out after 60 s): every answer is 200. Latency is printed, not asserted
/// (run with --nocapture to see it); tests do not depend on timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_clients_get_no_error() {
    const CLIENTS: usize = 32;
    const REQUESTS: usize = 16;
    let server = Server::start();
    let c = client();
    let url = format!("{}/api/simulate", server.url);
    let body = r#"{"dose": "100mg", "every": "24h", "days": 28, "disease": "ra"}"#;
    // One request first, so that the measurement starts with a warm server.
    assert_eq!(post(&c, &url, body).await.0, 200);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (c, url) = (c.clone(), url.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                for _ in 0..REQUESTS {
                    let t = Instant::now();
                    let (status, _) = post(&c, &url, body).await;
                    out.push((status, t.elapsed()));
                }
                out
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        for (status, d) in t.await.unwrap() {
            errors += usize::from(status != 200);
            latencies.push(d);
        }
    }
    let wall = started.elapsed();
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    eprintln!(
        "load: {} requests from {CLIENTS} clients in {:.2} s ({:.0} requests/s); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} errors",
        latencies.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    assert_eq!(errors, 0);
    assert_eq!(latencies.len(), CLIENTS * REQUESTS);
}
