//! The usage write-ahead log: what makes metering durable without putting a
//! database write on the request path.
//!
//! A request's event is appended here, and the append is acknowledged only
//! after `fdatasync`, before the gateway lets the response go out. One
//! thread commits in groups: it takes every append that is waiting, writes
//! them with one `write`, syncs once and acknowledges them all, so
//! concurrent requests share the cost of a sync (group commit). Without
//! sync (write-only: safe against the process being killed, not against a
//! power loss) there is no cost to share, so a request writes its own line
//! under the file's lock instead — a few microseconds, and no hand-off to
//! the thread and back, which on busy cores is what the latency tail was
//! made of. The database writer ([`super::writer`]) follows the log from
//! its own cursor and deletes a segment once every event in it is stored.
//!
//! On disk: `DIR/NNNNNNNNNNNNNNNNNNNN.wal` segments of newline-terminated
//! JSON events, numbered in order; a new one at each start and whenever the
//! current one passes its size. A process killed mid-write can leave a
//! partial last line, which was never acknowledged: readers skip a line
//! without its newline at the end of a closed segment. `DIR/LOCK` is held
//! (an OS file lock, released when the process dies) so two processes never
//! share one log.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot, watch};

use super::event::UsageEvent;

/// A place in the log: the segment number and a byte offset in it. Every
/// event before it has been written (by the writer) or handled (by a
/// reader).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

/// Why the log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("usage log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the usage log folder {0} is in use by another Stratus process; give each gateway its own STRATUS_HOME"
    )]
    Locked(String),
    #[error("the usage log is stopped")]
    Stopped,
    #[error("the usage log cannot be written: {0}")]
    Broken(String),
    #[error("usage event cannot be encoded: {0}")]
    Encode(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Events taken per group commit, at most (bounds one write's size).
const MAX_GROUP: usize = 4096;
/// Bytes read from a segment at a time.
const READ_CHUNK: usize = 1 << 20;

enum Command {
    Append {
        line: Vec<u8>,
        done: oneshot::Sender<Result<(), WalError>>,
    },
    Stop,
}

/// The appending side: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct WalHandle {
    commands: mpsc::Sender<Command>,
    /// Write-only logs: appends write here directly (see the module doc).
    inline: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Append { .. } => "Append",
            Command::Stop => "Stop",
        })
    }
}

/// One event as a log line.
pub fn encode(event: &UsageEvent) -> Result<Vec<u8>, WalError> {
    let mut line = serde_json::to_vec(event).map_err(|e| WalError::Encode(e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

impl WalHandle {
    /// Append `event` and wait until it is on disk.
    pub async fn append(&self, event: &UsageEvent) -> Result<(), WalError> {
        if let Some(shared) = &self.inline {
            return shared.commit(&encode(event)?);
        }
        let (done, acked) = oneshot::channel();
        self.commands
            .send(Command::Append {
                line: encode(event)?,
                done,
            })
            .await
            .map_err(|_| WalError::Stopped)?;
        acked.await.map_err(|_| WalError::Stopped)?
    }

    /// Append `event` without waiting (for a stream whose caller went
    /// away: nobody waits for that response). Needs a Tokio runtime when
    /// the queue is full.
    pub fn append_detached(&self, event: &UsageEvent) {
        let line = match encode(event) {
            Ok(line) => line,
            Err(e) => {
                tracing::error!(error = %e, "usage event lost");
                return;
            }
        };
        let (done, _) = oneshot::channel();
        match self.commands.try_send(Command::Append { line, done }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(command)) => {
                let commands = self.commands.clone();
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        runtime.spawn(async move { commands.send(command).await });
                    }
                    Err(_) => tracing::error!("usage event lost: log queue full, no runtime"),
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("usage event lost: the usage log is stopped");
            }
        }
    }
}

/// The appending thread and its handle.
pub struct WalWriter {
    pub handle: WalHandle,
    /// Where the log is written up to (acknowledged appends).
    pub committed: watch::Receiver<Position>,
    thread: std::thread::JoinHandle<()>,
}

impl std::fmt::Debug for WalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalWriter")
            .field("committed", &*self.committed.borrow())
            .finish()
    }
}

impl WalWriter {
    /// Stop appending (pending appends are written first) and wait for the
    /// thread. Blocks: call from a blocking context.
    pub fn stop_blocking(self) {
        let _ = self.handle.commands.blocking_send(Command::Stop);
        let _ = self.thread.join();
    }
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:020}.wal"))
}

/// The segment numbers in `dir`, ascending.
fn segments(dir: &Path) -> Result<Vec<u64>, WalError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        found.push(number);
    }
    found.sort_unstable();
    Ok(found)
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Open the log in `dir` (created if missing): a writer that appends to a
/// fresh segment, and a reader positioned at the oldest event not yet
/// known to be stored (everything still in the folder — replayed, and
/// idempotent by event id).
/// With `sync`, an append is acknowledged after `fdatasync` (survives a
/// power loss); without, after `write` (survives the process being killed,
/// since the kernel keeps the page, but not the machine going down).
pub fn open(
    dir: &Path,
    segment_bytes: u64,
    queue: usize,
    sync: bool,
) -> Result<(WalWriter, WalReader), WalError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let lock_path = dir.join("LOCK");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(WalError::Locked(dir.display().to_string()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
    }
    let existing = segments(dir)?;
    let current = existing.last().map_or(1, |last| last + 1);
    let path = segment_path(dir, current);
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    sync_dir(dir)?;

    let start = Position {
        segment: current,
        offset: 0,
    };
    let (commands, receiver) = mpsc::channel(queue.max(1));
    let (committed_tx, committed) = watch::channel(start);
    let shared = Arc::new(Shared {
        appender: Mutex::new(Appender {
            dir: dir.to_path_buf(),
            lock: Some(lock),
            file,
            segment: current,
            offset: 0,
            segment_bytes: segment_bytes.max(4096),
            sync,
            broken: None,
        }),
        committed: committed_tx,
    });
    let for_thread = shared.clone();
    let thread = std::thread::Builder::new()
        .name("usage-wal".into())
        .spawn(move || for_thread.run(receiver))
        .map_err(io(dir))?;
    let oldest = existing.first().copied().unwrap_or(current);
    let reader = WalReader {
        dir: dir.to_path_buf(),
        cursor: Position {
            segment: oldest,
            offset: 0,
        },
        deleted_below: oldest,
    };
    Ok((
        WalWriter {
            handle: WalHandle {
                commands,
                inline: (!sync).then_some(shared),
            },
            committed,
            thread,
        },
        reader,
    ))
}

/// The file's end and where it is, shared by the group-commit thread and
/// (write-only logs) the requests appending inline. Commits happen under
/// the mutex, so `committed` only moves forward.
struct Shared {
    appender: Mutex<Appender>,
    committed: watch::Sender<Position>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("committed", &*self.committed.borrow())
            .finish()
    }
}

/// The appending state.
struct Appender {
    dir: PathBuf,
    /// The OS lock on `DIR/LOCK`, held until the log is stopped (`None`
    /// after: nothing more is appended, and another opener may take it).
    lock: Option<File>,
    file: File,
    segment: u64,
    offset: u64,
    segment_bytes: u64,
    /// `fdatasync` each group (see [`open`]).
    sync: bool,
    /// Set when a failed write could not be undone: the file's end is no
    /// longer known to be a line boundary, so nothing more is appended.
    broken: Option<String>,
}

impl Shared {
    fn appender(&self) -> MutexGuard<'_, Appender> {
        // A panic while holding it cannot leave a half-written line behind
        // that `write` does not already handle; keep going.
        self.appender.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write `bytes` (whole lines) at the end of the log, sync it if the log
    /// syncs, and publish the new end; rotate past the segment size.
    fn commit(&self, bytes: &[u8]) -> Result<(), WalError> {
        let mut appender = self.appender();
        if appender.lock.is_none() {
            return Err(WalError::Stopped);
        }
        let position = appender.write(bytes).map_err(|why| {
            tracing::error!(error = %why, "usage log write failed");
            WalError::Broken(why)
        })?;
        self.committed.send_replace(position);
        if appender.offset >= appender.segment_bytes {
            match appender.rotate() {
                Ok(position) => {
                    self.committed.send_replace(position);
                }
                Err(e) => tracing::error!(error = %e, "usage log rotation failed"),
            }
        }
        Ok(())
    }

    /// The group-commit thread.
    fn run(&self, mut commands: mpsc::Receiver<Command>) {
        let mut group: Vec<oneshot::Sender<Result<(), WalError>>> = Vec::new();
        let mut buffer: Vec<u8> = Vec::new();
        let mut stop = false;
        while !stop {
            let Some(first) = commands.blocking_recv() else {
                break;
            };
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Append { line, done } => {
                        buffer.extend_from_slice(&line);
                        group.push(done);
                    }
                    Command::Stop => stop = true,
                }
                if group.len() < MAX_GROUP && !stop {
                    next = commands.try_recv().ok();
                }
            }
            if group.is_empty() {
                continue;
            }
            let result = self.commit(&buffer);
            buffer.clear();
            for done in group.drain(..) {
                let _ = done.send(match &result {
                    Ok(()) => Ok(()),
                    Err(WalError::Broken(why)) => Err(WalError::Broken(why.clone())),
                    Err(_) => Err(WalError::Stopped),
                });
            }
        }
        // Stopped (or every handle gone): release the folder's lock so a
        // new log may open it; later appends are refused.
        self.appender().lock = None;
    }
}

impl Appender {
    fn write(&mut self, bytes: &[u8]) -> Result<Position, String> {
        if let Some(why) = &self.broken {
            return Err(why.clone());
        }
        match self.file.write_all(bytes).and_then(|()| {
            if self.sync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        }) {
            Ok(()) => {
                self.offset += bytes.len() as u64;
                Ok(Position {
                    segment: self.segment,
                    offset: self.offset,
                })
            }
            Err(e) => {
                // Cut off whatever part of the group reached the file, so
                // the next group starts on a line boundary.
                if let Err(undo) = self.file.set_len(self.offset) {
                    self.broken = Some(format!("{e}; and it could not be undone: {undo}"));
                }
                Err(e.to_string())
            }
        }
    }

    fn rotate(&mut self) -> Result<Position, WalError> {
        let segment = self.segment + 1;
        let path = segment_path(&self.dir, segment);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.segment = segment;
        self.offset = 0;
        Ok(Position { segment, offset: 0 })
    }
}

/// Follows the log: reads committed events from a cursor, and deletes
/// segments once the cursor (everything stored) has passed them.
#[derive(Debug)]
pub struct WalReader {
    dir: PathBuf,
    cursor: Position,
    /// Segments below this are already deleted.
    deleted_below: u64,
}

impl WalReader {
    /// Everything before this position is stored.
    pub fn cursor(&self) -> Position {
        self.cursor
    }

    /// Up to `max` events after the cursor and before `committed`, and the
    /// position after the last line read (lines that do not parse are
    /// logged and skipped). The cursor does not move: [`Self::advance`]
    /// once the events are stored.
    pub fn read(
        &self,
        committed: Position,
        max: usize,
    ) -> Result<(Vec<UsageEvent>, Position), WalError> {
        let mut events = Vec::new();
        let mut position = self.cursor;
        let mut buffer = Vec::new();
        while position < committed && events.len() < max {
            let path = segment_path(&self.dir, position.segment);
            let closed = position.segment < committed.segment;
            let mut file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && closed => {
                    position = next_segment(position);
                    continue;
                }
                Err(e) => return Err(io(&path)(e)),
            };
            let end = if closed {
                file.metadata().map_err(io(&path))?.len()
            } else {
                committed.offset
            };
            if position.offset >= end {
                if closed {
                    position = next_segment(position);
                    continue;
                }
                break;
            }
            let want = usize::try_from(end - position.offset)
                .unwrap_or(READ_CHUNK)
                .min(READ_CHUNK);
            buffer.clear();
            buffer.resize(want, 0);
            file.seek(SeekFrom::Start(position.offset))
                .and_then(|_| file.read_exact(&mut buffer))
                .map_err(io(&path))?;
            let mut used = 0;
            for line in buffer.split_inclusive(|b| *b == b'\n') {
                if events.len() >= max || line.last() != Some(&b'\n') {
                    break;
                }
                used += line.len();
                match serde_json::from_slice::<UsageEvent>(&line[..line.len() - 1]) {
                    Ok(event) => events.push(event),
                    Err(e) => tracing::warn!(
                        segment = position.segment,
                        offset = position.offset + (used - line.len()) as u64,
                        error = %e,
                        "skipping an unreadable usage log line"
                    ),
                }
            }
            position.offset += used as u64;
            if used == 0 {
                if closed && position.offset + want as u64 >= end {
                    // A partial last line: a write cut off by a crash,
                    // never acknowledged.
                    tracing::warn!(
                        segment = position.segment,
                        bytes = want,
                        "skipping the unfinished last line of a usage log segment"
                    );
                    position = next_segment(position);
                } else if want == READ_CHUNK {
                    tracing::warn!(
                        segment = position.segment,
                        "skipping a usage log line longer than {READ_CHUNK} bytes"
                    );
                    position.offset += want as u64;
                } else {
                    break;
                }
            }
        }
        Ok((events, position))
    }

    /// Everything before `to` is stored: move the cursor there and delete
    /// the segments wholly before it.
    pub fn advance(&mut self, to: Position) {
        self.cursor = to;
        while self.deleted_below < to.segment {
            let path = segment_path(&self.dir, self.deleted_below);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    // Harmless: its events are stored, and a replay of them
                    // is a no-op. Try again on the next advance.
                    tracing::warn!(path = %path.display(), error = %e, "cannot delete a stored usage log segment");
                    return;
                }
            }
            self.deleted_below += 1;
        }
    }
}

fn next_segment(position: Position) -> Position {
    Position {
        segment: position.segment + 1,
        offset: 0,
    }
}
