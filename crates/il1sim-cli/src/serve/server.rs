//! `il1sim serve [--port 8080] [--bind 127.0.0.1]`: the router, the shared state and the
//! listener. Loopback by default: the explorer is a local tool with no authentication.

use super::api;
use super::assets;
use super::request::MAX_BODY_BYTES;
use super::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use il1sim_core::model::definition::Model;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TCP port; 0 picks a free one (the address is printed on the first line)
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; anything but loopback exposes the explorer, which has no
    /// authentication, to the network
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Simulations run at once [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/meta", get(api::meta))
        .route("/simulate", post(api::simulate))
        .route("/csv", post(api::csv))
        .route("/band", post(api::band_handler))
        .route("/validation", get(api::validation))
        .fallback(api::not_found);
    Router::new()
        .route("/", get(assets::index))
        .route("/validation", get(assets::index))
        .route("/assets/{name}", get(assets::file))
        .nest("/api", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

pub fn run(args: ServeArgs) -> Result<ExitCode, String> {
    let model: &'static Model = Box::leak(Box::new(crate::model_file::load_model(
        args.model.as_deref(),
    )?));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = match args.jobs {
        Some(0) => return Err("--jobs 0: allowed: 1 or more".into()),
        Some(n) => n,
        None => cores,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.min(4))
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server runtime: {e}"))?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        // The first line is read by tests and scripts to find the port (with --port 0).
        println!("il1sim explorer: http://{local}/ (Ctrl-C to stop)");
        if !args.bind.is_loopback() {
            println!("warning: listening on {}, not loopback: anyone who can reach this address can use the explorer", args.bind);
        }
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        axum::serve(listener, router(AppState::new(model, jobs)))
            .await
            .map_err(|e| format!("server stopped: {e}"))
    })?;
    Ok(ExitCode::SUCCESS)
}
