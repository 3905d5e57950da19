//! Group commit for confirmed sends: a burst of answers is written as one transaction. Each
//! caller queues its delivery and waits for the writer lock; whoever holds it writes everything
//! queued so far, so the SQLite write lock is taken once per burst instead of once per answer
//! (and new cases of the same burst do not queue behind fifty small updates).

use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::cases::CaseError;
use crate::cases::delivery::Delivered;
use crate::db::Db;

type Waiter = (Delivered, oneshot::Sender<Result<(), String>>);

#[derive(Default)]
pub struct Deliveries {
    queued: Mutex<Vec<Waiter>>,
    writer: tokio::sync::Mutex<()>,
}

impl Deliveries {
    /// Records one confirmed send; returns when it is committed (by this caller or another).
    pub async fn record(&self, db: &Db, d: Delivered) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.lock().push((d, tx));
        {
            let _writer = self.writer.lock().await;
            let batch = std::mem::take(&mut *self.lock());
            if !batch.is_empty() {
                let items: Vec<Delivered> = batch.iter().map(|(d, _)| d.clone()).collect();
                let result = db.mark_delivered_many(&items).await;
                for (d, waiter) in batch {
                    let r = match &result {
                        Ok(missing) if missing.contains(&d.case) => Err(CaseError::NotFound(d.case).to_string()),
                        Ok(_) => Ok(()),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = waiter.send(r);
                }
            }
        }
        rx.await
            .unwrap_or_else(|_| Err("the delivery writer went away".to_string()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        match self.queued.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}
