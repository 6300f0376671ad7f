//! A blocking PostgreSQL client on `tokio-postgres`: one current-thread runtime per
//! connection drives the connection and the request being waited for, as the sync
//! `postgres` crate does, but result rows are taken in batches, every row that has
//! arrived in one turn of the runtime instead of one turn per row.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::mem::ManuallyDrop;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::runtime::Runtime;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::types::BorrowToSql;
use tokio_postgres::{Client, Config, NoTls, Row, RowStream, Socket, Statement};

/// Rows taken from the socket per turn at most, so a large result is still streamed.
const MAX_BATCH: usize = 1024;

type PgConnection = tokio_postgres::Connection<Socket, NoTlsStream>;

/// An open connection: the client, the connection task's state and the runtime both
/// run on when the caller blocks.
pub(crate) struct BlockingClient {
    io: Io,
    /// Dropped first in `drop`, which then lets the connection close cleanly.
    client: ManuallyDrop<Client>,
}

/// The runtime and the connection it drives.
struct Io {
    runtime: Runtime,
    connection: Pin<Box<PgConnection>>,
    /// Set once the connection has ended (closed by the server or broken).
    done: bool,
}

/// Why waiting for the server ended without an answer.
pub(crate) enum Failure {
    /// The server or the connection reported an error.
    Pg(tokio_postgres::Error),
    /// The connection had ended and the request could not be answered.
    Closed,
    /// No answer came in time.
    Timeout(Duration),
}

impl Io {
    /// Run `future` to completion while driving the connection. An error of the
    /// connection ends the wait at once, as does the connection's end while the
    /// future still waits.
    fn block_on<T>(
        &mut self,
        future: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, Failure> {
        let mut future = pin!(future);
        let connection = &mut self.connection;
        let done = &mut self.done;
        self.runtime.block_on(poll_fn(|cx| {
            if let Err(e) = drive(connection, done, cx) {
                return Poll::Ready(Err(Failure::Pg(e)));
            }
            match future.as_mut().poll(cx) {
                Poll::Ready(r) => Poll::Ready(r.map_err(Failure::Pg)),
                Poll::Pending if *done => Poll::Ready(Err(Failure::Closed)),
                Poll::Pending => Poll::Pending,
            }
        }))
    }
}

impl Io {
    /// Start `future` (its request is queued and written to the socket) without
    /// waiting for its answer, which the connection discards when it comes; requests
    /// sent later are answered after it, in order.
    fn send<T>(
        &mut self,
        future: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<(), Failure> {
        let mut future = pin!(future);
        let connection = &mut self.connection;
        let done = &mut self.done;
        self.runtime.block_on(poll_fn(|cx| {
            if *done {
                return Poll::Ready(Err(Failure::Closed));
            }
            if let Poll::Ready(Err(e)) = future.as_mut().poll(cx) {
                return Poll::Ready(Err(Failure::Pg(e)));
            }
            Poll::Ready(drive(connection, done, cx).map_err(Failure::Pg))
        }))
    }
}

impl BlockingClient {
    /// Connect with `config`, without TLS.
    pub(crate) fn connect(config: &Config) -> Result<BlockingClient, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        let (client, connection) = runtime.block_on(config.connect(NoTls)).map_err(|e| {
            // "error connecting to server" says nothing of why: add the causes.
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                message.push_str(": ");
                message.push_str(&c.to_string());
                cause = c.source();
            }
            message
        })?;
        Ok(BlockingClient {
            io: Io {
                runtime,
                connection: Box::pin(connection),
                done: false,
            },
            client: ManuallyDrop::new(client),
        })
    }

    /// Prepare `sql` on the server.
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement, Failure> {
        self.io.block_on(self.client.prepare(sql))
    }

    /// Send `stmt` with `params` and wait for the response to start. With `first`
    /// (simple query protocol, e.g. `BEGIN`), that goes out just before the statement,
    /// without waiting in between, so both take one round trip; its error is returned
    /// before the statement's.
    pub(crate) fn query_raw<P, I>(
        &mut self,
        first: Option<&str>,
        stmt: &Statement,
        params: I,
    ) -> Result<Pin<Box<RowStream>>, Failure>
    where
        P: BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator,
    {
        let first = first.map(|sql| self.client.batch_execute(sql));
        let query = self.client.query_raw(stmt, params);
        self.io.block_on(async move {
            let (first, query) = match first {
                Some(first) => futures_util::future::join(first, query).await,
                None => (Ok(()), query.await),
            };
            first?;
            query.map(Box::pin)
        })
    }

    /// Run `stmt` (which returns no rows) once per parameter row, pipelined: every
    /// request is written before any answer is awaited, so the lot takes one round
    /// trip. With `first` (simple query protocol, e.g. `BEGIN`), that goes out before
    /// them. Returns each run's rows affected or error, in order; an error of `first`
    /// comes back as the error of every run.
    pub(crate) fn execute_each<P, I, R>(
        &mut self,
        first: Option<&str>,
        stmt: &Statement,
        rows: R,
    ) -> Result<Vec<Result<u64, tokio_postgres::Error>>, Failure>
    where
        P: BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator,
        R: IntoIterator<Item = I>,
    {
        let client = &*self.client;
        let mut first = first.map(|sql| Box::pin(client.batch_execute(sql)));
        let mut runs: Vec<_> = rows
            .into_iter()
            .map(|params| Some(Box::pin(client.execute_raw(stmt, params))))
            .collect();
        let mut answers: Vec<Option<Result<u64, tokio_postgres::Error>>> =
            (0..runs.len()).map(|_| None).collect();
        let mut waiting = runs.len();
        self.io.block_on(poll_fn(|cx| {
            // Polled in order: the requests are queued in this order, and answered so.
            if let Some(f) = first.as_mut() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(Ok(())) => first = None,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
            for (run, answer) in runs.iter_mut().zip(answers.iter_mut()) {
                if let Some(f) = run {
                    if let Poll::Ready(r) = f.as_mut().poll(cx) {
                        *answer = Some(r);
                        *run = None;
                        waiting -= 1;
                    }
                }
            }
            if waiting == 0 && first.is_none() {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }))?;
        Ok(answers.into_iter().flatten().collect())
    }

    /// Move every row of `stream` that has arrived (at least one, unless the stream
    /// ends) into `rows`, in order; an error ends the stream and is queued after the
    /// rows before it. Returns whether the stream has ended.
    pub(crate) fn next_batch(
        &mut self,
        stream: &mut Pin<Box<RowStream>>,
        rows: &mut VecDeque<Result<Row, tokio_postgres::Error>>,
    ) -> Result<bool, Failure> {
        let before = rows.len();
        self.io.block_on(poll_fn(|cx| loop {
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => {
                    rows.push_back(Ok(row));
                    if rows.len() - before >= MAX_BATCH {
                        return Poll::Ready(Ok(false));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    rows.push_back(Err(e));
                    return Poll::Ready(Ok(true));
                }
                Poll::Ready(None) => return Poll::Ready(Ok(true)),
                Poll::Pending if rows.len() == before => return Poll::Pending,
                Poll::Pending => return Poll::Ready(Ok(false)),
            }
        }))
    }

    /// Run SQL (possibly several statements) with the simple query protocol.
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), Failure> {
        self.io.block_on(self.client.batch_execute(sql))
    }

    /// Send SQL with the simple query protocol without waiting for its outcome (for
    /// ROLLBACK, whose outcome nothing waits on: the server also rolls back when the
    /// connection ends, and the next request is answered after it).
    pub(crate) fn batch_send(&mut self, sql: &str) -> Result<(), Failure> {
        self.io.send(self.client.batch_execute(sql))
    }

    /// Whether the connection has been closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.io.done || self.client.is_closed()
    }

    /// A round trip to the server, failing after `timeout`.
    pub(crate) fn is_valid(&mut self, timeout: Duration) -> Result<(), Failure> {
        let query = self.client.simple_query("");
        // The timer is made inside the runtime (an async block), where it must be.
        let answered = self.io.block_on(async {
            match tokio::time::timeout(timeout, query).await {
                Ok(r) => r.map(|_| true),
                Err(_) => Ok(false),
            }
        })?;
        if answered {
            Ok(())
        } else {
            Err(Failure::Timeout(timeout))
        }
    }
}

/// Poll the connection until it has nothing more to do now: it reads responses from the
/// socket into the requests' channels and writes queued requests. Notices and
/// notifications are dropped. The connection's end marks it done; its error is
/// returned (once: the connection has ended then too).
fn drive(
    connection: &mut Pin<Box<PgConnection>>,
    done: &mut bool,
    cx: &mut Context<'_>,
) -> Result<(), tokio_postgres::Error> {
    while !*done {
        match connection.as_mut().poll_message(cx) {
            Poll::Ready(Some(Ok(_))) => {}
            Poll::Ready(Some(Err(e))) => {
                *done = true;
                return Err(e);
            }
            Poll::Ready(None) => *done = true,
            Poll::Pending => break,
        }
    }
    Ok(())
}

impl Drop for BlockingClient {
    fn drop(&mut self) {
        // SAFETY: `client` is not used again: this is the end of `self`.
        unsafe { ManuallyDrop::drop(&mut self.client) };
        if self.io.done {
            return;
        }
        // With the client gone the connection sends Terminate and ends: drive it there
        // (for a second at most) so the server sees a clean close.
        let connection = &mut self.io.connection;
        let closed = poll_fn(|cx| loop {
            match connection.as_mut().poll_message(cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        });
        let _ = self
            .io
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(1), closed).await });
    }
}
