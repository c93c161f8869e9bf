//! The delivery task: POSTs the front of the queue, one batch at a time, until a 2xx.

use crate::webhook::queue::{DropCause, Dropped};
use crate::webhook::sign::{sign, SIGNATURE_HEADER};
use crate::webhook::{Shared, WebhookConfig, MAX_BATCH_BYTES};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Bytes of a receiver's answer read at most (it is read only so the connection can be
/// reused; its content is ignored).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// At most one line per this long about failing requests (every drop is logged).
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(10);

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Runs until the runtime ends.
pub(crate) async fn run(shared: Arc<Shared>, config: WebhookConfig) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(config.request_timeout));
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
    let mut backoff = config.backoff_min;
    let mut overflow_logged = 0;
    let mut failure_logged: Option<Instant> = None;
    loop {
        log_overflow(&shared, &mut overflow_logged);
        if let Some(d) = shared.queue.expire(Instant::now(), config.max_age) {
            shared.dropped_expired.fetch_add(d.count, Ordering::Relaxed);
            log_drop(&d);
        }
        let Some(batch) = shared.queue.batch(config.max_batch_events, MAX_BATCH_BYTES) else {
            // A push between the empty look and this wait leaves a permit: no event waits.
            shared.notify.notified().await;
            continue;
        };
        match post(&client, &config, batch.body).await {
            Ok(()) => {
                let n = shared.queue.ack(batch.last_event_id);
                shared.delivered.fetch_add(n as u64, Ordering::Relaxed);
                shared.batches_delivered.fetch_add(1, Ordering::Relaxed);
                shared
                    .last_delivered_event_id
                    .fetch_max(batch.last_event_id, Ordering::Relaxed);
                backoff = config.backoff_min;
            }
            Err(why) => {
                shared.attempts_failed.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                if failure_logged.is_none_or(|at| now.duration_since(at) >= FAILURE_LOG_EVERY) {
                    failure_logged = Some(now);
                    eprintln!(
                        "roomcore-server: webhook {}: {why}; retrying (events from {} wait)",
                        config.url, batch.first_event_id,
                    );
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.backoff_max);
            }
        }
    }
}

/// One request: `Ok` on a 2xx answer.
async fn post(client: &HttpClient, config: &WebhookConfig, body: String) -> Result<(), String> {
    let signature = sign(config.secret.as_bytes(), body.as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri(config.url.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        // Read (bounded) so the connection can carry the next batch.
        let _ = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    };
    tokio::time::timeout(config.request_timeout, exchange)
        .await
        .unwrap_or_else(|_| Err("no answer within --webhook-timeout-ms".into()))
}

fn log_overflow(shared: &Shared, logged: &mut u64) {
    let now = shared.dropped_overflow.load(Ordering::Relaxed);
    if now > *logged {
        eprintln!(
            "roomcore-server: webhook: dropped {} events because the queue was full \
             (--webhook-max-queue / --webhook-max-queue-bytes); {now} in all",
            now - *logged
        );
        *logged = now;
    }
}

fn log_drop(d: &Dropped) {
    let why = match d.cause {
        DropCause::Expired => "not delivered within --webhook-max-age-s",
        DropCause::Overflow => "the queue was full",
    };
    eprintln!(
        "roomcore-server: webhook: dropped {} events (event_id {}..={}): {why}",
        d.count, d.first, d.last
    );
}
