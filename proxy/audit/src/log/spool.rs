//! One sink's spool: the records the sink has not taken yet, oldest first, in an append-only
//! JSON-lines file (`<spool_dir>/<sink>.jsonl`), synced to disk before an append returns.
//!
//! Records are read back from the front and forgotten once the sink has them; the file is
//! emptied when the last one is taken. What was taken is only remembered in memory, so after a
//! crash a spool replays from its start: sinks treat a record they already hold as stored.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::ChainedRecord;

pub(crate) struct Spool {
    path: PathBuf,
    file: File,
    /// Where the records not yet taken start.
    read_offset: u64,
    /// Lines after `read_offset`.
    pending: usize,
    /// The newest record ever written here (kept while the file is empty), to resume the chain.
    newest: Option<ChainedRecord>,
}

impl Spool {
    /// Opens (or creates) the spool at `path`. A last line cut short by a crash is cut off.
    pub fn open(path: &Path) -> io::Result<Spool> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let mut pending = 0;
        let mut newest = None;
        let mut complete_bytes = 0u64;
        let mut reader = BufReader::new(&mut file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                tracing::warn!(spool = %path.display(), "dropping a record cut short by a crash");
                break;
            }
            complete_bytes += read as u64;
            pending += 1;
            match serde_json::from_slice::<ChainedRecord>(&line) {
                Ok(record) => newest = Some(record),
                Err(error) => {
                    tracing::error!(spool = %path.display(), %error, "unreadable spool line")
                }
            }
        }
        drop(reader);
        if file.metadata()?.len() != complete_bytes {
            file.set_len(complete_bytes)?;
            file.sync_data()?;
        }
        Ok(Spool {
            path: path.to_path_buf(),
            file,
            read_offset: 0,
            pending,
            newest,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records waiting in the file.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The newest record written to this spool, taken or not.
    pub fn newest(&self) -> Option<&ChainedRecord> {
        self.newest.as_ref()
    }

    /// Appends `records` and syncs them to disk.
    pub fn append<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a ChainedRecord>,
    ) -> io::Result<()> {
        let mut text = Vec::new();
        let mut count = 0;
        let mut last = None;
        for record in records {
            serde_json::to_writer(&mut text, record).map_err(io::Error::other)?;
            text.push(b'\n');
            count += 1;
            last = Some(record);
        }
        if count == 0 {
            return Ok(());
        }
        self.file.write_all(&text)?;
        self.file.sync_data()?;
        self.pending += count;
        self.newest = last.cloned();
        Ok(())
    }

    /// Up to `max` records from the front, without taking them, and how many lines they span
    /// (lines that cannot be read are skipped and counted). A batch holds one partition only.
    pub fn peek(&self, max: usize) -> io::Result<(Vec<ChainedRecord>, usize)> {
        let mut reader = self.reader()?;
        let mut records: Vec<ChainedRecord> = Vec::new();
        let mut lines = 0;
        let mut line = Vec::new();
        while records.len() < max && lines < self.pending {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            match serde_json::from_slice::<ChainedRecord>(&line) {
                Ok(record) => {
                    if records
                        .first()
                        .is_some_and(|first| first.partition != record.partition)
                    {
                        break;
                    }
                    records.push(record);
                }
                Err(error) => {
                    tracing::error!(spool = %self.path.display(), %error, "skipping an unreadable spool line")
                }
            }
            lines += 1;
        }
        Ok((records, lines))
    }

    /// Forgets the first `lines` lines (the sink has them). The file is emptied once nothing
    /// is left.
    pub fn consume(&mut self, lines: usize) -> io::Result<()> {
        let lines = lines.min(self.pending);
        if lines == self.pending {
            self.file.set_len(0)?;
            self.file.sync_data()?;
            self.read_offset = 0;
            self.pending = 0;
            return Ok(());
        }
        let mut reader = self.reader()?;
        let mut line = Vec::new();
        let mut skipped = 0u64;
        for _ in 0..lines {
            line.clear();
            skipped += reader.read_until(b'\n', &mut line)? as u64;
        }
        self.read_offset += skipped;
        self.pending -= lines;
        Ok(())
    }

    fn reader(&self) -> io::Result<BufReader<File>> {
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.read_offset))?;
        Ok(BufReader::new(file))
    }
}
