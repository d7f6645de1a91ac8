//! A fixed pool of threads for Argon2 work.
//!
//! Each hash needs ~19 MiB. On tokio's blocking pool every new thread gets its own allocator
//! arena that keeps those buffers after use, so a login flood grew the process by gigabytes.
//! A few long-lived threads bound both the concurrency and the memory the allocator keeps.
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Debug, thiserror::Error)]
#[error("the password hashing pool is unavailable")]
pub struct PoolClosed;

#[derive(Clone)]
pub struct HashPool {
    jobs: Arc<Mutex<Sender<Job>>>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashPool")
    }
}

impl HashPool {
    /// Starts `threads` workers (at least one).
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx))?;
        }
        Ok(Self {
            jobs: Arc::new(Mutex::new(tx)),
        })
    }

    /// Runs `f` on a pool thread; callers queue while every thread is busy.
    pub async fn run<T, F>(&self, f: F) -> Result<T, PoolClosed>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| PoolClosed)?;
        result.await.map_err(|_| PoolClosed)
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let guard = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            guard.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_on_at_most_n_threads() {
        let pool = HashPool::new(2).unwrap();
        let mut names = std::collections::HashSet::new();
        let mut handles = Vec::new();
        for i in 0..20u32 {
            let pool = pool.clone();
            handles.push(tokio::spawn(async move {
                pool.run(move || (i * 2, std::thread::current().name().map(str::to_owned)))
                    .await
            }));
        }
        for (i, h) in handles.into_iter().enumerate() {
            let (v, name) = h.await.unwrap().unwrap();
            assert_eq!(v, i as u32 * 2);
            names.insert(name.unwrap());
        }
        assert!(
            names.len() <= 2 && names.iter().all(|n| n.starts_with("argon2-")),
            "{names:?}"
        );
    }
}
