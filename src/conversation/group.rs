//! Group commit: a burst of writes of one kind (new cases, confirmed sends) becomes one
//! transaction. Each caller queues its item and waits for the writer turn; whoever holds it
//! writes everything queued so far. The SQLite write lock is taken, and a commit paid for, once
//! per burst instead of once per message, and under load the batches grow by themselves.
//!
//! A batch succeeds or fails as a whole (one transaction); every caller in it gets the result.
//! The write runs as a task of its own: a caller that gives up while leading a batch (a timeout,
//! a shutdown) does not take the other callers' writes, or their answers, with it.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;

type Waiter<T, R> = (T, oneshot::Sender<Result<R, String>>);

pub struct Group<T, R> {
    queued: Mutex<Vec<Waiter<T, R>>>,
    turn: tokio::sync::Mutex<()>,
}

impl<T, R> Default for Group<T, R> {
    fn default() -> Self {
        Group {
            queued: Mutex::new(Vec::new()),
            turn: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Group<T, R> {
    /// Queues `item` and returns its result once it is written, by this caller or another.
    /// `write` gets the whole batch and returns one result per item, in order.
    pub async fn submit<F, Fut>(&self, item: T, write: F) -> Result<R, String>
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = Vec<Result<R, String>>> + Send + 'static,
    {
        let (tx, mut rx) = oneshot::channel();
        self.lock().push((item, tx));
        tokio::select! {
            // A caller whose item another leader already wrote returns at once, instead of
            // queueing for the turn behind the next leader's whole write.
            biased;
            r = &mut rx => return r.unwrap_or_else(|_| Err("the batch writer went away".to_string())),
            _turn = self.turn.lock() => {
                let batch = std::mem::take(&mut *self.lock());
                if !batch.is_empty() {
                    let (items, waiters): (Vec<T>, Vec<_>) = batch.into_iter().unzip();
                    let written = write(items);
                    // The write and the hand-out of results run as a task of their own: a
                    // leader cancelled halfway (its caller went away) must not lose the
                    // results of the others in its batch.
                    let task = tokio::spawn(async move {
                        let mut results = written.await.into_iter();
                        for waiter in waiters {
                            let r = results
                                .next()
                                .unwrap_or_else(|| Err("the batch writer returned too few results".to_string()));
                            let _ = waiter.send(r);
                        }
                    });
                    // The turn is held until the batch is written, so batches do not overlap.
                    let _ = task.await;
                }
            }
        }
        rx.await
            .unwrap_or_else(|_| Err("the batch writer went away".to_string()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiter<T, R>>> {
        match self.queued.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_is_written_in_fewer_batches_and_everyone_gets_their_own_result() {
        let group: Arc<Group<u32, u32>> = Arc::new(Group::default());
        let batches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..40u32 {
            let group = Arc::clone(&group);
            let batches = Arc::clone(&batches);
            tasks.push(tokio::spawn(async move {
                group
                    .submit(i, |items| async move {
                        batches.fetch_add(1, Ordering::SeqCst);
                        // A slow write lets the queue fill behind it.
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        items
                            .into_iter()
                            .map(|x| {
                                if x == 13 {
                                    Err("thirteen".to_string())
                                } else {
                                    Ok(x * 2)
                                }
                            })
                            .collect()
                    })
                    .await
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            let r = t.await.expect("task");
            let i = u32::try_from(i).expect("small");
            if i == 13 {
                assert_eq!(r, Err("thirteen".to_string()));
            } else {
                assert_eq!(r, Ok(i * 2));
            }
        }
        let n = batches.load(Ordering::SeqCst);
        assert!(n < 40, "40 writes in {n} batches");
    }

    /// A caller that leads a batch and is then cancelled: the others in its batch still get
    /// their results.
    /// A caller whose item went out in another leader's batch returns when that batch is
    /// written; it does not become the leader of the next batch and wait for that one too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_written_caller_never_waits_for_the_next_batch() {
        use std::time::Duration;
        use tokio::sync::Semaphore;
        let group: Arc<Group<u32, u32>> = Arc::new(Group::default());
        // Each batch waits for the permit of its first item: the test decides when it ends.
        let gates: Arc<Vec<Semaphore>> = Arc::new((0..5).map(|_| Semaphore::new(0)).collect());
        let started: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
        let submit = |i: u32| {
            let (group, gates, started) = (Arc::clone(&group), Arc::clone(&gates), Arc::clone(&started));
            tokio::spawn(async move {
                group
                    .submit(i, move |items: Vec<u32>| async move {
                        started.lock().expect("not poisoned").push(items.clone());
                        let _ = gates[items[0] as usize].acquire().await.map(|p| p.forget());
                        items.into_iter().map(Ok).collect::<Vec<_>>()
                    })
                    .await
            })
        };
        let settle = || tokio::time::sleep(Duration::from_millis(50));
        let a = submit(1);
        settle().await;
        let y = submit(2);
        settle().await;
        let x = submit(3);
        settle().await;
        gates[1].add_permits(1); // batch [1] ends; 2 leads [2, 3]
        settle().await;
        let z = submit(4);
        settle().await;
        gates[2].add_permits(1); // batch [2, 3] ends; 4 is queued, its batch will not end yet
        let x = tokio::time::timeout(Duration::from_secs(5), x).await;
        assert_eq!(
            x.expect("3 was written in [2, 3]; it must not wait for the batch of 4")
                .expect("task"),
            Ok(3)
        );
        assert_eq!(a.await.expect("task"), Ok(1));
        assert_eq!(y.await.expect("task"), Ok(2));
        gates[4].add_permits(1);
        assert_eq!(z.await.expect("task"), Ok(4));
        assert_eq!(
            *started.lock().expect("not poisoned"),
            vec![vec![1], vec![2, 3], vec![4]]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_leader_does_not_lose_the_batch() {
        use std::time::Duration;
        let group: Arc<Group<u32, u32>> = Arc::new(Group::default());
        let slow = |ms: u64| {
            move |items: Vec<u32>| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                items.into_iter().map(Ok).collect::<Vec<_>>()
            }
        };
        // D holds the turn while A and then B queue behind it.
        let d = tokio::spawn({
            let g = Arc::clone(&group);
            async move { g.submit(0, slow(60)).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let a = tokio::spawn({
            let g = Arc::clone(&group);
            async move { g.submit(1, slow(100)).await }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let b = tokio::spawn({
            let g = Arc::clone(&group);
            async move { g.submit(2, slow(100)).await }
        });
        assert_eq!(d.await.expect("d"), Ok(0));
        // A now leads the batch [1, 2]; it gives up halfway through the write.
        tokio::time::sleep(Duration::from_millis(30)).await;
        a.abort();
        assert_eq!(b.await.expect("b"), Ok(2));
    }

    #[tokio::test]
    async fn too_few_results_is_an_error_not_a_hang() {
        let group: Group<u32, u32> = Group::default();
        let r = group.submit(1, |_| async { Vec::new() }).await;
        assert!(r.is_err());
    }
}
