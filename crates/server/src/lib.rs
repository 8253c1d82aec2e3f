//! fundledger as a service.
//!
//! One writer thread owns the store and the ledger state. HTTP handlers send
//! it jobs (one request's batch each) over a bounded channel; the writer
//! takes every job that is waiting, decides each on an O(1) clone of the
//! state (a rejected job is dropped from the group without touching the
//! others), appends all accepted records with **one** durable flush, and
//! only then answers every job of the group: group commit. Readers see an
//! immutable snapshot that the writer swaps in after each commit.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod findings_cache;
mod http;
mod pages;
mod plain_errors;
mod writer;

pub use http::router;
pub use writer::{CommitStats, Job, JobOutcome, Snapshot, Writer, WriterConfig};

use fundledger_core::crypto::SecretKey;
use fundledger_store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Most submissions in one request (also the batch limit of the API).
pub const HTTP_BATCH_EVENTS_MAX: usize = 1000;
/// Largest request body.
pub const HTTP_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Most records one `GET /v1/records` returns.
pub const HTTP_RECORDS_LIMIT_MAX: u64 = 10_000;
/// Most jobs waiting for the writer before requests are refused with 503.
pub const WRITER_QUEUE_MAX: usize = 4096;
/// Most jobs the writer takes into one group commit.
pub const GROUP_JOBS_MAX: usize = 1024;
/// How long connections may take to finish after SIGINT/SIGTERM.
pub const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a client may take to send a request's body.
pub const REQUEST_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Requests served at once; past it, 503 (each may hold up to 8 MiB).
pub const CONCURRENT_REQUESTS_MAX: usize = 64;
/// How long a client may take to send a request's headers, by default.
pub const HEADER_READ_TIMEOUT_DEFAULT: std::time::Duration = std::time::Duration::from_secs(10);

/// How to run the server.
pub struct ServeConfig {
    /// The ledger directory.
    pub ledger: PathBuf,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The operator's key, which seals every group commit; none: the
    /// server only reads (submissions are answered 503).
    pub operator_key: Option<SecretKey>,
    /// How far ahead of this machine's clock an event's `at` may be.
    pub future_skew: chrono::Duration,
    /// How long a client may take to send a request's headers (from the
    /// request's first byte, or from the connection's start); past it the
    /// connection is closed.
    pub header_read_timeout: std::time::Duration,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store.
    #[error(transparent)]
    Store(#[from] fundledger_store::StoreError),
    /// The key does not belong to the ledger's operator.
    #[error("the key given is not the operator's key of this ledger; every batch is sealed by the operator")]
    NotOperatorKey,
    /// Binding or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs the server until SIGINT or SIGTERM; in-flight requests are finished
/// (every acknowledged record is on disk) before it returns.
/// `on_listening` is told the bound address (useful with port 0).
pub async fn serve(
    config: ServeConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let (store, ledger) = Store::open(&config.ledger)?;
    if let Some(key) = &config.operator_key {
        if ledger.operator().map(|o| o.key) != Some(key.public()) {
            return Err(ServeError::NotOperatorKey);
        }
    }
    let writer = Writer::start(
        store,
        ledger,
        WriterConfig {
            operator_key: config.operator_key,
            future_skew: config.future_skew,
        },
    );
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Io {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Io {
        addr: config.addr,
        source,
    })?;
    // The handlers are in place before anyone is told where to connect: a
    // SIGTERM sent on "listening" stops the server cleanly, never kills it.
    let signal = ShutdownSignal::install();
    on_listening(addr);
    let writer = Arc::new(writer);
    let app = router(writer.clone());
    serve_connections(listener, app, config.header_read_timeout, signal).await;
    // No job is taken any more; the writer finishes (and flushes) the ones
    // it holds, so every acknowledged record is on disk.
    writer.stop();
    Ok(())
}

/// Accepts connections until SIGINT or SIGTERM, each served by hyper's
/// HTTP/1.1 connection with a header read timeout (which `axum::serve`
/// cannot set) through [`plain_errors::JsonErrorIo`]. Then stops accepting
/// and gives open connections [`SHUTDOWN_DEADLINE`] to finish: a client
/// that hangs (a half-sent request) does not hold the process.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_read_timeout: std::time::Duration,
    signal: ShutdownSignal,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal.received());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors or the like: wait, as axum::serve does.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let io = TokioIo::new(plain_errors::JsonErrorIo::new(stream));
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that went away or timed out is no error of the server.
            let _ = connection.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_DEADLINE) => eprintln!(
            "shutdown: connections still open after {} s are dropped (none of them was acknowledged)",
            SHUTDOWN_DEADLINE.as_secs()
        ),
    }
}

/// SIGINT and SIGTERM, caught from the moment [`ShutdownSignal::install`]
/// returns.
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    fn install() -> ShutdownSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            ShutdownSignal {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        ShutdownSignal {}
    }

    /// Resolves when either signal arrives.
    async fn received(self) {
        #[cfg(unix)]
        {
            async fn next(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(self.interrupt) => {},
                () = next(self.terminate) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
