//! The signals that end a long-running adapter (`qntcbot discord`, `qntcbot slack`): Ctrl-C,
//! and SIGTERM from systemd or a container runtime. Each adapter then stops taking work and
//! finishes the answers in flight.

use tracing::info;

/// Resolves on the first SIGINT or SIGTERM (SIGINT only where there is no SIGTERM).
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("SIGINT received"),
        () = term => info!("SIGTERM received"),
    }
}
