//! The data plane's threads. Each worker runs its own single-threaded runtime and reads its own
//! socket of every listener (the listener's sockets share its address through SO_REUSEPORT, and
//! the kernel spreads peers over them). A message, the tasks it spawns and, on UDP, the answers
//! to what it forwards stay on the thread that read it: handing a transaction from thread to
//! thread costs more than relaying it.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::watch;

thread_local! {
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index of the worker running on this thread; `None` off the workers (the control tasks'
/// runtime, tests).
pub fn current() -> Option<usize> {
    WORKER.with(Cell::get)
}

/// The running workers; dropping the last handle stops them (their tasks are dropped).
pub struct Workers {
    handles: Vec<Handle>,
    stop: watch::Sender<bool>,
}

/// How far ahead a worker's nearest timer always is (see [`keep_a_timer_near`]): under the
/// default T1 of 500 ms, the first retransmission timer of every UDP client transaction.
const NEAR_TIMER: Duration = Duration::from_millis(250);

/// Ticks forever. Tokio wakes a parked runtime when a timer is armed that is due before the
/// runtime's next wake-up, which on a worker's own thread is a write to its wake-up descriptor
/// and one more pass of its event loop: with no nearer timer, every relayed request would pay
/// that for its transaction's timers. With this tick there always is one, for four wake-ups a
/// second.
async fn keep_a_timer_near() {
    let mut tick = tokio::time::interval(NEAR_TIMER);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
    }
}

impl Workers {
    /// Starts `count` workers (at least one), each on a thread named `legate-worker-<n>`.
    pub fn start(count: usize) -> std::io::Result<Arc<Workers>> {
        let (stop, stopped) = watch::channel(false);
        let mut handles = Vec::new();
        for index in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(runtime.handle().clone());
            let mut stopped = stopped.clone();
            std::thread::Builder::new()
                .name(format!("legate-worker-{index}"))
                .spawn(move || {
                    WORKER.with(|worker| worker.set(Some(index)));
                    runtime.block_on(async move {
                        tokio::select! {
                            _ = stopped.wait_for(|stop| *stop) => {}
                            _ = keep_a_timer_near() => {}
                        }
                    });
                })?;
        }
        Ok(Arc::new(Workers { handles, stop }))
    }

    pub fn count(&self) -> usize {
        self.handles.len()
    }

    /// The runtime of worker `index`.
    pub fn handle(&self, index: usize) -> &Handle {
        &self.handles[index % self.handles.len()]
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_worker_runs_its_tasks_on_its_own_thread() {
        let workers = Workers::start(2).unwrap();
        for index in 0..2 {
            let (sent, seen) = std::sync::mpsc::channel();
            workers.handle(index).spawn(async move {
                // A task spawned by a worker's task stays on that worker.
                let inner = tokio::spawn(async { current() }).await.unwrap();
                sent.send((current(), inner)).unwrap();
            });
            assert_eq!(seen.recv().unwrap(), (Some(index), Some(index)));
        }
        assert_eq!(current(), None);
    }

    #[test]
    fn dropping_the_workers_stops_their_threads() {
        let workers = Workers::start(1).unwrap();
        let (sent, seen) = std::sync::mpsc::channel::<()>();
        // The task holds the sender until its runtime drops it.
        workers.handle(0).spawn(async move {
            let _sent = sent;
            std::future::pending::<()>().await;
        });
        drop(workers);
        assert!(seen.recv().is_err());
    }
}
