//! The JSON API: `GET /api/meta`, `POST /api/simulate`, `POST /api/csv`, `POST /api/band`,
//! `GET /api/validation`. Every error is a JSON body `{"error": "...", "status": N}`: 400 for
//! a body that is not JSON or has unknown or mistyped fields, 413 for a body over the size
//! limit, 415 without `Content-Type: application/json`, 422 for a regimen or patient the quick
//! form refuses (with its message, fields named as in the request), 503 when the server is
//! busy for longer than a request may wait. Simulations run on blocking threads, at most as
//! many at once as there are permits, so a burst queues instead of piling up threads.

use super::band::{band, band_population, drug_observable, POPULATIONS};
use super::mechanism::{mechanism, PoolSeries};
use super::request::{
    Checked, SimulateRequest, DEFAULT_BAND_SUBJECTS, MAX_BAND_DAYS, MAX_BAND_SUBJECTS,
    MAX_BODY_BYTES, MAX_DAYS, MAX_POINTS,
};
use super::state::AppState;
use super::validation_table::Table;
use crate::simulate::{run_scenario, timecourse_csv};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use il1sim_core::metrics::RegimenSummary;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Longest a request waits for a free simulation slot before it gets 503. A one-patient run
/// takes 5–50 ms, so 32 clients at once wait well under a second.
pub const SIMULATE_WAIT: Duration = Duration::from_secs(10);
/// Longest a band request waits for the band slot (one band at a time: a band uses every core).
pub const BAND_WAIT: Duration = Duration::from_secs(30);

/// An error as the API returns it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.message, "status": self.status.as_u16() });
        (self.status, Json(body)).into_response()
    }
}

/// The request body as JSON: the content type, the size limit and the syntax checked, each
/// with its own status and message.
fn parse_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<SimulateRequest, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().starts_with("application/json"));
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON, sent with Content-Type: application/json",
        ));
    }
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body over {MAX_BODY_BYTES} bytes; a regimen and a patient take \
                     well under 1 KiB"
                ),
            )
        } else {
            ApiError::new(
                r.status(),
                format!("cannot read the request body: {}", r.body_text()),
            )
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "a field is unknown or has the wrong type",
            _ => "malformed JSON",
        };
        ApiError::new(StatusCode::BAD_REQUEST, format!("{what}: {e}"))
    })
}

/// Run `job` on a blocking thread once a permit of `slots` is free (waiting at most `wait`).
async fn run_job<T: Send + 'static>(
    slots: &Arc<Semaphore>,
    wait: Duration,
    job: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = tokio::time::timeout(wait, slots.clone().acquire_owned())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "busy: no simulation slot became free within {} s; try again",
                    wait.as_secs()
                ),
            )
        })?
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let result = tokio::task::spawn_blocking(move || {
        let r = job();
        drop(permit);
        r
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("simulation task failed: {e}"),
        )
    })?;
    result
}

#[derive(Serialize)]
struct Series {
    name: String,
    unit: String,
    description: String,
    values: Vec<f64>,
}

#[derive(Serialize)]
struct DoseOut {
    time_h: f64,
    amount_mg: f64,
}

#[derive(Serialize)]
struct SimulateResponse {
    regimen: String,
    drug: String,
    disease: String,
    patient: serde_json::Value,
    days: f64,
    output_interval_h: f64,
    method: &'static str,
    /// The observable of the drug's plasma concentration.
    drug_observable: String,
    times_h: Vec<f64>,
    /// Observables with a number at every time; those NaN throughout (a site the disease
    /// lacks) are listed in `absent`.
    observables: Vec<Series>,
    absent: Vec<String>,
    doses: Vec<DoseOut>,
    summary: RegimenSummary,
    mechanism: Option<Vec<PoolSeries>>,
    /// Time the server spent simulating (ms).
    compute_ms: f64,
}

fn unprocessable(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// One patient and regimen: the time courses, dose times, summary and mechanism fractions.
fn simulate_one(state: &AppState, req: &SimulateRequest) -> Result<Vec<u8>, ApiError> {
    let started = Instant::now();
    let model = state.model;
    let Checked { scenario, method } = req.check(model, MAX_DAYS).map_err(unprocessable)?;
    let (subject, runs) =
        run_scenario(model, &scenario, state.solver, method).map_err(unprocessable)?;
    let (traj, summary) = runs
        .into_iter()
        .next()
        .ok_or_else(|| unprocessable("no regimen".into()))?;
    let regimen = &scenario.regimens[0];
    let observed: Vec<Vec<f64>> = traj.states.iter().map(|y| subject.observe(y)).collect();
    let mut observables = Vec::new();
    let mut absent = Vec::new();
    for (k, o) in model.observables.iter().enumerate() {
        let values: Vec<f64> = observed.iter().map(|v| v[k]).collect();
        if values.iter().all(|v| v.is_finite()) {
            observables.push(Series {
                name: o.name.clone(),
                unit: o.unit.clone(),
                description: o.description.clone(),
                values,
            });
        } else {
            absent.push(o.name.clone());
        }
    }
    let doses = regimen
        .dose_events(scenario.patient.weight_kg, scenario.duration_h)
        .map_err(|e| unprocessable(e.to_string()))?
        .iter()
        .map(|e| DoseOut {
            time_h: e.time_h,
            amount_mg: e.amount_mg,
        })
        .collect();
    let p = &scenario.patient;
    let response = SimulateResponse {
        regimen: regimen.name.clone(),
        drug: regimen.drug.clone(),
        disease: p.disease.clone(),
        patient: json!({ "weight_kg": p.weight_kg, "age_y": p.age_y, "sex": p.sex.label(),
                         "crcl_ml_min": p.crcl_ml_min }),
        days: scenario.duration_h / 24.0,
        output_interval_h: scenario.output_interval_h,
        method: method.name(),
        drug_observable: drug_observable(model, &regimen.drug)
            .map(|i| model.observables[i].name.clone())
            .unwrap_or_default(),
        mechanism: mechanism(model, &traj.states, &subject.baseline),
        times_h: traj.times_h,
        observables,
        absent,
        doses,
        summary,
        compute_ms: started.elapsed().as_secs_f64() * 1e3,
    };
    serde_json::to_vec(&response)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn json_bytes(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

pub async fn simulate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req = parse_body(&headers, body)?;
    let s = state.clone();
    let bytes = run_job(&state.simulate_slots, SIMULATE_WAIT, move || {
        simulate_one(&s, &req)
    })
    .await?;
    Ok(json_bytes(bytes))
}

/// The time courses as `il1sim simulate` writes timecourse.csv (the same bytes).
pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req = parse_body(&headers, body)?;
    let s = state.clone();
    let bytes = run_job(&state.simulate_slots, SIMULATE_WAIT, move || {
        let Checked { scenario, method } = req.check(s.model, MAX_DAYS).map_err(unprocessable)?;
        let (subject, runs) =
            run_scenario(s.model, &scenario, s.solver, method).map_err(unprocessable)?;
        timecourse_csv(s.model, &subject, &runs)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"timecourse.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

pub async fn band_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req = parse_body(&headers, body)?;
    let model = state.model;
    // Checked before queueing: a refused request does not wait for the band slot.
    let (pop, file) = band_population(model, &req).map_err(unprocessable)?;
    let bytes = run_job(&state.band_slots, BAND_WAIT, move || {
        let started = Instant::now();
        let b = band(model, &pop, file);
        let mut v = serde_json::to_value(&b)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        v["compute_ms"] = json!(started.elapsed().as_secs_f64() * 1e3);
        serde_json::to_vec(&v)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await?;
    Ok(json_bytes(bytes))
}

pub async fn validation(State(state): State<AppState>) -> Result<Json<Table>, ApiError> {
    state
        .validation
        .snapshot(state.model)
        .map(Json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))
}

/// What the page needs to build its controls: diseases, drugs and routes, observables,
/// populations, defaults and limits.
pub async fn meta(State(state): State<AppState>) -> Json<serde_json::Value> {
    let m = state.model;
    Json(json!({
        "il1sim_version": env!("CARGO_PKG_VERSION"),
        "model": m.name,
        "diseases": m.disease_names(),
        "default_disease": m.default_disease,
        "drugs": m.drugs.iter().map(|d| json!({
            "name": d.name,
            "routes": d.routes.keys().map(|r| r.label()).collect::<Vec<_>>(),
            "observable": drug_observable(m, &d.name).map(|i| m.observables[i].name.clone()),
        })).collect::<Vec<_>>(),
        "observables": m.observables.iter().map(|o| json!({
            "name": o.name, "unit": o.unit, "description": o.description,
        })).collect::<Vec<_>>(),
        "populations": POPULATIONS.iter().map(|(d, f, _)| json!({ "disease": d, "file": f })).collect::<Vec<_>>(),
        "defaults": {
            "days": crate::quick::DEFAULT_DAYS,
            "weight_kg": crate::quick::DEFAULT_WEIGHT_KG,
            "age_y": crate::quick::DEFAULT_AGE_Y,
            "crcl_ml_min": crate::quick::DEFAULT_CRCL_ML_MIN,
            "band_subjects": DEFAULT_BAND_SUBJECTS,
        },
        "limits": {
            "body_bytes": MAX_BODY_BYTES,
            "days": MAX_DAYS,
            "output_points": MAX_POINTS,
            "band_days": MAX_BAND_DAYS,
            "band_subjects": MAX_BAND_SUBJECTS,
        },
    }))
}

/// Unknown paths under /api/ get a JSON 404 naming what exists.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint; the API has GET /api/meta, POST /api/simulate, POST /api/csv, \
         POST /api/band and GET /api/validation",
    )
}

#[cfg(test)]
mod tests {
    //! The router without a socket: status codes, the JSON error body and the limits.
    use super::super::server::router;
    use super::super::state::AppState;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn state() -> AppState {
        let model = Box::leak(Box::new(il1sim_core::il1_model()));
        AppState::new(model, 2)
    }

    async fn call(
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, serde_json::Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = router(state())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, value)
    }

    async fn post(uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
        call(
            "POST",
            uri,
            Some("application/json"),
            body.as_bytes().to_vec(),
        )
        .await
    }

    fn error(v: &serde_json::Value) -> &str {
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {v}"))
    }

    #[tokio::test]
    async fn bad_requests_get_4xx_with_a_json_message() {
        let (s, v) = post("/api/simulate", "{\"dose\": \"100mg\",").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            error(&v).starts_with("malformed JSON: EOF while parsing"),
            "{v}"
        );
        assert_eq!(v["status"], 400);
        let (s, v) = post("/api/simulate", r#"{"dose": "100mg", "dosage": 3}"#).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(error(&v).contains("unknown field `dosage`"), "{v}");
        let (s, v) = post("/api/simulate", r#"{"dose": 100}"#).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            error(&v).contains("invalid type: integer `100`, expected a string"),
            "{v}"
        );
        let (s, v) = post("/api/simulate", r#"{"dose": "100mg", "disease": "gout"}"#).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error(&v).contains("disease") && error(&v).contains("nomid"),
            "{v}"
        );
        let (s, v) = post("/api/simulate", r#"{"dose": "100mg", "days": 5000}"#).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error(&v).contains("days 5000: allowed: > 0 and <= 730"),
            "{v}"
        );
        let (s, v) = call("POST", "/api/simulate", Some("text/plain"), b"{}".to_vec()).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(error(&v).contains("Content-Type: application/json"), "{v}");
        let big = format!(
            r#"{{"dose": "100mg", "sex": "{}"}}"#,
            "x".repeat(super::MAX_BODY_BYTES)
        );
        let (s, v) = post("/api/simulate", &big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error(&v).contains("over 16384 bytes"), "{v}");
        let (s, v) = call("GET", "/api/nothing", None, vec![]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(error(&v).contains("POST /api/simulate"), "{v}");
    }

    #[tokio::test]
    async fn band_limits_are_checked_before_anything_runs() {
        let (s, v) = post(
            "/api/band",
            r#"{"dose": "100mg", "disease": "ra", "subjects": 1001}"#,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error(&v).contains("subjects 1001: allowed: 1 to 1000"),
            "{v}"
        );
        let (s, v) = post(
            "/api/band",
            r#"{"dose": "100mg", "disease": "ra", "days": 400}"#,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error(&v).contains("days 400: allowed: > 0 and <= 365"),
            "{v}"
        );
        let (s, v) = post("/api/band", r#"{"dose": "100mg", "disease": "sepsis"}"#).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error(&v).contains("no shipped population file")
                && error(&v).contains("ra, caps, mws, nomid"),
            "{v}"
        );
    }

    #[tokio::test]
    async fn one_patient_has_time_courses_doses_and_mechanism() {
        let (s, v) = post(
            "/api/simulate",
            r#"{"dose": "100mg", "disease": "ra", "days": 7, "missed_dose": [3], "late_dose": ["5:6"]}"#,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["times_h"].as_array().unwrap().len(), 7 * 24 + 1);
        let names: Vec<&str> = v["observables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        for n in [
            "anakinra_plasma",
            "receptor_occupancy_antagonist",
            "il1_signal_relative",
            "il6_plasma",
            "crp",
            "il1_signal_joint_relative",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        // RA has a joint and no CNS site.
        assert!(v["absent"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "il1_signal_cns_relative"));
        let doses: Vec<f64> = v["doses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["time_h"].as_f64().unwrap())
            .collect();
        assert_eq!(doses, vec![0.0, 24.0, 72.0, 102.0, 120.0, 144.0]);
        assert_eq!(v["drug_observable"], "anakinra_plasma");
        let receptor = &v["mechanism"][0];
        assert_eq!(receptor["key"], "receptor");
        let anakinra = receptor["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == "anakinra")
            .unwrap();
        let last = anakinra["values"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64()
            .unwrap();
        // A day after the last dose anakinra still holds a sixth of IL-1RI (IL-1Ra much of
        // the rest); untreated it holds none.
        assert!(last > 0.1 && anakinra["untreated"] == 0.0, "{last}");
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_served() {
        for (uri, ty) in [
            ("/", "text/html"),
            ("/validation", "text/html"),
            ("/assets/app.js", "text/javascript"),
        ] {
            let res = router(state())
                .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{uri}");
            let ct = res.headers()["content-type"].to_str().unwrap().to_string();
            assert!(ct.starts_with(ty), "{uri}: {ct}");
            assert!(res.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'"));
        }
        let (s, v) = call("GET", "/api/meta", None, vec![]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["limits"]["days"], 730.0);
        assert!(v["drugs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "rilonacept" && d["observable"] == "rilonacept_plasma"));
    }
}
