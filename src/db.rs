//! The SQLite store: one file, WAL mode, a busy timeout, migrations applied on open.
//!
//! Tables are grouped by owner: `kb_*` (loaded from `kb/`, see [`crate::kb::store`]) and
//! `case*` (see [`crate::cases`]). Each owner adds its own `impl Db` block.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the directory for the database {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("the directory {dir} for the database {path} does not exist; create it first or choose another --db")]
    MissingDir { dir: PathBuf, path: PathBuf },
    #[error("cannot open the database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot apply the database migrations to {path}: {source}")]
    Migrate {
        path: PathBuf,
        source: sqlx::migrate::MigrateError,
    },
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: SqlitePool,
    path: PathBuf,
    /// Writers of this process queue here before they begin (see [`Db::begin_write`]).
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction and this process's writer turn, held until both are dropped. It is
/// used like the connection it holds (`&mut *tx`).
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &sqlx::SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}

/// How long a writer waits for another writer's lock before SQLite reports "busy". Chat
/// traffic and `analyze --record` scripts write concurrently; waiting is always better than
/// losing a case.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Db {
    /// Opens (creating the file if needed) the database and applies pending migrations. The
    /// directory must exist: a typo in `--db` is reported, not silently created (see
    /// [`ensure_default_dir`] for the one location that is created).
    pub async fn open(path: &Path) -> Result<Db, DbError> {
        let db = Db::lazy(path)?;
        db.prepare().await?;
        Ok(db)
    }

    /// A handle that touches nothing until first used: commands that never need the database
    /// (a plain `analyze`) never create or open the file. Call [`Db::prepare`] before relying
    /// on the schema.
    pub fn lazy(path: &Path) -> Result<Db, DbError> {
        // A file name, never a URL: `%41` and `?` in a name are just characters.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across process crashes in WAL mode; only an OS crash or power
            // loss can drop the last transactions. FULL would halve write throughput.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Deleted case text is overwritten, not left in free pages (`cases purge`).
            .pragma("secure_delete", "ON")
            // Pages are read through a memory map, not copied by a read() per page: in WAL mode
            // a pooled connection re-reads what another connection wrote since its last use.
            .pragma("mmap_size", "268435456");
        // No idle timeout or lifetime: sqlx would start a maintenance task for them, which
        // needs a running Tokio runtime at creation, and a SQLite file has no server that
        // drops idle connections anyway.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options);
        Ok(Db {
            pool,
            path: path.to_path_buf(),
            writer: std::sync::Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Connects and applies pending migrations. The directory must exist: a typo in `--db` is
    /// reported, not silently created (see [`ensure_default_dir`] for the one location that
    /// is created).
    pub async fn prepare(&self) -> Result<(), DbError> {
        let path = &self.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(DbError::MissingDir {
                dir: dir.to_path_buf(),
                path: path.to_path_buf(),
            });
        }
        // The first connection shows whether the file can be opened at all.
        drop(self.pool.acquire().await.map_err(|source| DbError::Open {
            path: path.to_path_buf(),
            source,
        })?);
        migrate(&self.pool).await.map_err(|source| DbError::Migrate {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE`, so the write lock is taken up front).
    /// Writers of this process first queue on an in-process lock, first come first served:
    /// SQLite's busy handler makes a waiting connection sleep (1, 2, 5, 10 ms and more) rather
    /// than queue, and under a burst of chat messages that sleeping, not the writing, decided
    /// how late the last answer came. Other processes still meet the busy timeout.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = std::sync::Arc::clone(&self.writer).lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _turn: turn })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checkpoints the WAL and closes every connection; called on clean shutdown.
    pub async fn close(&self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await;
        self.pool.close().await;
    }
}

/// Applies pending migrations. Processes that open a brand-new file at the same moment may
/// both decide a migration is pending; the loser fails on "table already exists". A retry
/// re-reads the migration table, finds the work done, and succeeds. Real failures (a changed
/// migration, a full disk) fail the same way every time and are returned.
async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < ATTEMPTS => {
                tracing::debug!(attempt, "migration raced with another process, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Creates the directory of the default database location (only that one: an explicit path
/// must point into an existing directory).
pub fn ensure_default_dir() -> Result<(), DbError> {
    let path = default_path();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Where the database lives when neither `--db` nor `QNTCBOT_DB` says otherwise:
/// `$XDG_DATA_HOME/qntcbot/qntcbot.db`, else `~/.local/share/qntcbot/qntcbot.db`, else
/// `./qntcbot.db`.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        });
    match base {
        Some(dir) => dir.join("qntcbot").join("qntcbot.db"),
        None => PathBuf::from("qntcbot.db"),
    }
}
