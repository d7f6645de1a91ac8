//! Group commit for webhook bodies. A POST hands its parsed body to one of a few ingest workers
//! (chosen by the body's phone number id, so one number's traffic stays on one worker) and waits
//! for the answer. A worker takes every body that queued while it was busy, up to a limit, and
//! stores them together: one routing pass and one transaction per tenant for the lot. The POST is
//! still answered only after its tenant transactions commit; under light load a body is stored
//! alone, at once.
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::clock::SharedClock;
use crate::keys::KeyService;
use crate::store::{Db, StoreError};
use crate::webhook::ingest::{IngestContext, IngestError, IngestReport, RouteCache, ingest_many};
use crate::webhook::normalize::Batch;

/// Bodies waiting per worker before a POST waits to enqueue (backpressure).
const QUEUE_DEPTH: usize = 1024;

struct Job {
    batch: Batch,
    reply: oneshot::Sender<Result<IngestReport, IngestError>>,
}

/// Tunables of the ingest workers.
#[derive(Clone, Copy, Debug)]
pub struct IngestOptions {
    /// Workers (each holds at most one database connection at a time).
    pub workers: usize,
    /// Bodies stored together at most.
    pub batch_max: usize,
    /// How long a number's tenant and a tenant's status are reused without asking the database.
    pub route_cache: std::time::Duration,
}

/// Hands bodies to the ingest workers; cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    shards: Arc<[mpsc::Sender<Job>]>,
}

/// What a worker needs to store bodies.
#[derive(Clone)]
struct Worker {
    db: Db,
    keys: KeyService,
    opt_out_words: Arc<[String]>,
    clock: SharedClock,
    batch_max: usize,
    routes: RouteCache,
}

impl Ingestor {
    /// Starts the workers on the current runtime; they stop when every `Ingestor` is dropped.
    pub fn start(
        db: Db,
        keys: KeyService,
        opt_out_words: &[String],
        clock: SharedClock,
        options: IngestOptions,
    ) -> Self {
        let worker = Worker {
            db,
            keys,
            opt_out_words: opt_out_words.into(),
            clock,
            batch_max: options.batch_max.max(1),
            routes: RouteCache::new(options.route_cache),
        };
        let shards: Vec<_> = (0..options.workers.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
                tokio::spawn(worker.clone().run(rx));
                tx
            })
            .collect();
        Self {
            shards: shards.into(),
        }
    }

    /// Stores `batch`; returns once it is committed (or knowingly dropped).
    pub async fn submit(&self, batch: Batch) -> Result<IngestReport, IngestError> {
        if batch.changes.is_empty() {
            return Ok(IngestReport::default());
        }
        let (reply, answer) = oneshot::channel();
        let shard = self.shard_of(&batch);
        let sent = match self.shards.get(shard) {
            Some(tx) => tx.send(Job { batch, reply }).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    fn shard_of(&self, batch: &Batch) -> usize {
        let key = batch.changes.first().and_then(|c| {
            c.phone_number_id
                .as_deref()
                .or(c.waba_id.as_deref())
                .filter(|k| !k.is_empty())
        });
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.unwrap_or("").hash(&mut h);
        (h.finish() % self.shards.len().max(1) as u64) as usize
    }
}

fn stopped() -> IngestError {
    IngestError::Store(StoreError::Unavailable("ingest worker stopped".into()))
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < self.batch_max {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            metrics::histogram!("webhook_ingest_batch_size").record(jobs.len() as f64);
            // Stored in a task of its own: a fault there fails these bodies (503, redelivered)
            // and leaves the worker running.
            let worker = self.clone();
            let _ = tokio::spawn(async move { worker.store(jobs).await }).await;
        }
    }

    async fn store(&self, jobs: Vec<Job>) {
        let ctx = IngestContext {
            db: &self.db,
            routes: &self.routes,
            keys: &self.keys,
            opt_out_words: &self.opt_out_words,
            now_ms: self.clock.now_ms(),
        };
        let batches: Vec<&Batch> = jobs.iter().map(|j| &j.batch).collect();
        let results = ingest_many(&ctx, &batches).await;
        for (job, result) in jobs.into_iter().zip(results) {
            // The POST may have gone (client timeout); what was stored stays stored.
            let _ = job.reply.send(result);
        }
    }
}
