//! A pool of bound LDAP connections, made on first use (so a directory server that is down
//! when Legate starts or loads a configuration delays nothing) and made again after a failure.
//!
//! At most `pool_size` connections exist, each used by one lookup at a time. A connection that
//! failed in any way is dropped rather than returned: its state is unknown.

use std::sync::{Arc, Mutex};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinHandle;

use super::Failure;
use legate_directory::LdapSettings;

/// One open connection and the task that reads and writes its socket.
struct Connection {
    ldap: Ldap,
    driver: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Closes the socket; lookups still holding the handle fail at once.
        self.driver.abort();
    }
}

pub(super) struct Pool {
    settings: Arc<LdapSettings>,
    permits: Semaphore,
    idle: Mutex<Vec<Connection>>,
}

/// A connection lent to one lookup. Dropping it discards the connection; [`Lease::release`]
/// gives it back for reuse.
pub(super) struct Lease<'p> {
    pool: &'p Pool,
    connection: Connection,
    /// Whether it served an earlier lookup (and so may have died unnoticed since).
    reused: bool,
    _permit: SemaphorePermit<'p>,
}

impl Pool {
    pub(super) fn new(settings: Arc<LdapSettings>) -> Pool {
        Pool {
            permits: Semaphore::new(settings.pool_size),
            settings,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Waits for a free slot, then lends an idle connection or opens a new one.
    pub(super) async fn lease(&self) -> Result<Lease<'_>, Failure> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Failure::Connection("the connection pool is closed".into()))?;
        if let Some(connection) = self.take_idle() {
            return Ok(Lease {
                pool: self,
                connection,
                reused: true,
                _permit: permit,
            });
        }
        let connection = self.connect().await?;
        Ok(Lease {
            pool: self,
            connection,
            reused: false,
            _permit: permit,
        })
    }

    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(mut connection) = idle.pop() {
            if !connection.ldap.is_closed() {
                return Some(connection);
            }
        }
        None
    }

    /// Connects (with StartTLS when configured) and binds.
    async fn connect(&self) -> Result<Connection, Failure> {
        let settings = &self.settings;
        let mut conn_settings = LdapConnSettings::new()
            .set_conn_timeout(settings.timeout)
            .set_starttls(settings.start_tls);
        if let Some(tls) = &settings.tls {
            conn_settings = conn_settings.set_config(tls.clone());
        }
        let (driver, ldap) = LdapConnAsync::with_settings(conn_settings, &settings.url)
            .await
            .map_err(|e| Failure::Connection(format!("cannot connect: {e}")))?;
        let driver = tokio::spawn(async move {
            if let Err(error) = driver.drive().await {
                tracing::debug!(%error, "ldap connection ended");
            }
        });
        let mut connection = Connection { ldap, driver };
        if let Some(bind) = &settings.bind {
            let result = connection
                .ldap
                .simple_bind(&bind.dn, &bind.password)
                .await
                .map_err(|e| Failure::Connection(format!("bind as `{}` failed: {e}", bind.dn)))?;
            if result.rc != 0 {
                return Err(Failure::Answer(format!(
                    "bind as `{}` refused: {}",
                    bind.dn,
                    super::describe(&result)
                )));
            }
        }
        tracing::debug!(url = %settings.url, "ldap connection opened");
        Ok(connection)
    }
}

impl Lease<'_> {
    pub(super) fn ldap(&mut self) -> &mut Ldap {
        &mut self.connection.ldap
    }

    pub(super) fn reused(&self) -> bool {
        self.reused
    }

    /// Swaps the connection for a newly opened one (the old one is dropped).
    pub(super) async fn reconnect(&mut self) -> Result<(), Failure> {
        self.connection = self.pool.connect().await?;
        self.reused = false;
        Ok(())
    }

    /// Gives the connection back for the next lookup.
    pub(super) fn release(self) {
        let Lease {
            pool, connection, ..
        } = self;
        if let Ok(mut idle) = pool.idle.lock() {
            idle.push(connection);
        }
    }
}
