//! A Parquet file read a row group at a time from the byte ranges the caller gives: the crate
//! never opens a file. The caller reads the footer (its length from the file's last 8 bytes,
//! [`metadata_len`]), then for each row group the ranges [`Layout::ranges`] names, and decodes
//! the columns it wants as Arrow arrays. Strings come as dictionary arrays ([`strings`]: each
//! distinct value once, as the file stores it, and a code a row), the rest as the Parquet
//! schema types them (an Arrow schema the writer embedded is not read: its types are not
//! always ones the reader can give).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use bytes::{Buf, Bytes};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection,
};
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};

/// The footer's metadata is at most this long (a file claiming more is refused).
pub const MAX_METADATA: usize = 64 << 20;
/// The trailer: the metadata's length and the magic bytes.
pub const TRAILER: usize = 8;
/// Byte ranges closer than this are read as one.
const MERGE_GAP: u64 = 64 << 10;

/// The length of the footer's metadata, from the file's last 8 bytes.
pub fn metadata_len(trailer: &[u8]) -> Result<usize, String> {
    let tail: &[u8; TRAILER] = trailer
        .try_into()
        .map_err(|_| format!("the trailer is {} bytes, not {TRAILER}", trailer.len()))?;
    let tail = FooterTail::try_new(tail).map_err(|e| e.to_string())?;
    if tail.is_encrypted_footer() {
        return Err("an encrypted Parquet file".into());
    }
    let n = tail.metadata_length();
    if n > MAX_METADATA {
        return Err(format!("a footer of {n} bytes (at most {MAX_METADATA})"));
    }
    Ok(n)
}

/// What the footer says: the row groups and the columns, as the reader will give them.
pub struct Layout {
    meta: ArrowReaderMetadata,
    file_len: u64,
}

/// The type strings are read as.
pub fn strings() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// A type read as [`strings`].
fn stringlike(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => stringlike(v),
        _ => false,
    }
}

impl Layout {
    /// The layout of a file of `file_len` bytes whose footer metadata is `metadata` (the
    /// `metadata_len` bytes before the trailer). Every column chunk must lie before the footer.
    pub fn new(metadata: &[u8], file_len: u64) -> Result<Layout, String> {
        let data_end = file_len
            .checked_sub((metadata.len() + TRAILER) as u64)
            .ok_or("the footer is longer than the file")?;
        let meta = ParquetMetaDataReader::decode_metadata(metadata).map_err(|e| e.to_string())?;
        for rg in meta.row_groups() {
            for c in rg.columns() {
                let (start, len) = c.byte_range();
                if start.checked_add(len).is_none_or(|end| end > data_end) {
                    return Err(format!(
                        "column {:?} lies outside the file's data",
                        c.column_path().string()
                    ));
                }
            }
        }
        let meta = Arc::new(meta);
        let plain = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let inferred = ArrowReaderMetadata::try_new(meta.clone(), plain).map_err(text)?;
        let fields: Vec<Field> = inferred
            .schema()
            .fields()
            .iter()
            .map(|f| match stringlike(f.data_type()) {
                true => f.as_ref().clone().with_data_type(strings()),
                false => f.as_ref().clone(),
            })
            .collect();
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
        let meta = ArrowReaderMetadata::try_new(meta, options).map_err(text)?;
        Ok(Layout { meta, file_len })
    }

    /// The length of the file.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The rows of each row group.
    pub fn row_groups(&self) -> Vec<u64> {
        let groups = self.meta.metadata().row_groups();
        groups.iter().map(|g| g.num_rows().max(0) as u64).collect()
    }

    /// The top-level columns and their types as read.
    pub fn fields(&self) -> Vec<(String, DataType)> {
        let fields = self.meta.schema().fields();
        fields
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect()
    }

    /// The index of a top-level column.
    fn root(&self, name: &str) -> Result<usize, String> {
        self.meta
            .schema()
            .fields()
            .iter()
            .position(|f| f.name() == name)
            .ok_or_else(|| format!("no column {name:?}"))
    }

    fn group(&self, rg: usize) -> Result<(), String> {
        let n = self.meta.metadata().num_row_groups();
        match rg < n {
            true => Ok(()),
            false => Err(format!("row group {rg} of {n}")),
        }
    }

    /// The byte ranges (start, length) that hold the columns `names` of row group `rg`, in
    /// file order, near ones merged.
    pub fn ranges(&self, rg: usize, names: &[&str]) -> Result<Vec<(u64, u64)>, String> {
        self.group(rg)?;
        let roots = names
            .iter()
            .map(|n| self.root(n))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = self.meta.parquet_schema();
        let group = &self.meta.metadata().row_groups()[rg];
        let mut got: Vec<(u64, u64)> = (0..schema.num_columns())
            .filter(|&leaf| roots.contains(&schema.get_column_root_idx(leaf)))
            .map(|leaf| group.column(leaf).byte_range())
            .collect();
        got.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(got.len());
        for (start, len) in got {
            match out.last_mut() {
                Some((s, l)) if start <= *s + *l + MERGE_GAP => {
                    *l = (*l).max(start + len - *s);
                }
                _ => out.push((start, len)),
            }
        }
        Ok(out)
    }

    /// A reader of the columns `names` of row group `rg` from `chunks` (which must hold their
    /// `ranges`), `batch` rows at a time; only the rows `rows` (sorted, within the group) when
    /// given. The columns of each batch are in the file's order.
    pub fn reader(
        &self,
        rg: usize,
        chunks: &Chunks,
        names: &[&str],
        batch: usize,
        rows: Option<&[usize]>,
    ) -> Result<ParquetRecordBatchReader, String> {
        self.group(rg)?;
        let roots = names
            .iter()
            .map(|n| self.root(n))
            .collect::<Result<Vec<_>, _>>()?;
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), roots);
        let mut b =
            ParquetRecordBatchReaderBuilder::new_with_metadata(chunks.clone(), self.meta.clone())
                .with_row_groups(vec![rg])
                .with_projection(mask)
                .with_batch_size(batch.max(1));
        if let Some(rows) = rows {
            let total = self.meta.metadata().row_group(rg).num_rows().max(0) as usize;
            if rows.windows(2).any(|w| w[0] >= w[1]) || rows.last().is_some_and(|&r| r >= total) {
                return Err(format!("rows not sorted within the group's {total}"));
            }
            let ranges = rows.iter().map(|&r| r..r + 1);
            b = b.with_row_selection(RowSelection::from_consecutive_ranges(ranges, total));
        }
        b.build().map_err(text)
    }
}

fn text(e: ParquetError) -> String {
    e.to_string()
}

/// Byte ranges of a file of `file_len` bytes, each where it lies in the file: the reader's only
/// source of bytes (a clone shares them).
#[derive(Clone, Default)]
pub struct Chunks {
    parts: Arc<[(u64, Bytes)]>,
    file_len: u64,
}

impl Chunks {
    /// The ranges given as (start, bytes), in any order; overlapping ones are allowed.
    pub fn new(mut parts: Vec<(u64, Bytes)>, file_len: u64) -> Chunks {
        parts.sort_by_key(|p| p.0);
        Chunks {
            parts: parts.into(),
            file_len,
        }
    }

    /// The bytes from `start` to the end of the range that holds `start..start + len`.
    fn holding(&self, start: u64, len: u64) -> parquet::errors::Result<Bytes> {
        let end = start.saturating_add(len);
        self.parts
            .iter()
            .find(|(at, b)| *at <= start && end <= *at + b.len() as u64)
            .map(|(at, b)| b.slice((start - at) as usize..))
            .ok_or_else(|| ParquetError::General(format!("bytes {start}..{end} were not read")))
    }
}

impl Length for Chunks {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl ChunkReader for Chunks {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.holding(start, 0)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        Ok(self.holding(start, length as u64)?.slice(..length))
    }
}

/// Every batch of a reader.
pub fn read_all(reader: ParquetRecordBatchReader) -> Result<Vec<RecordBatch>, String> {
    reader.map(|b| b.map_err(|e| e.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::{Array, ArrayRef, Int32Array, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    /// A file of `n` rows: `name` (strings, every third missing), `k` (ints), in row groups
    /// of `group` rows.
    fn file(n: usize, group: usize) -> Vec<u8> {
        let names: ArrayRef = Arc::new(StringArray::from_iter(
            (0..n).map(|i| (i % 3 != 0).then(|| format!("value-{}", i % 7))),
        ));
        let ks: ArrayRef = Arc::new(Int32Array::from_iter_values((0..n).map(|i| i as i32)));
        let batch = RecordBatch::try_from_iter([("name", names), ("k", ks)]).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .build();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out
    }

    fn layout(f: &[u8]) -> Layout {
        let n = metadata_len(&f[f.len() - TRAILER..]).unwrap();
        Layout::new(&f[f.len() - TRAILER - n..f.len() - TRAILER], f.len() as u64).unwrap()
    }

    fn chunks(f: &[u8], ranges: &[(u64, u64)]) -> Chunks {
        let bytes = Bytes::copy_from_slice(f);
        Chunks::new(
            ranges
                .iter()
                .map(|&(s, l)| (s, bytes.slice(s as usize..(s + l) as usize)))
                .collect(),
            f.len() as u64,
        )
    }

    #[test]
    fn reads_each_group_from_its_ranges_alone() {
        let f = file(1000, 300);
        let lay = layout(&f);
        assert_eq!(lay.row_groups(), vec![300, 300, 300, 100]);
        assert_eq!(lay.fields()[0], ("name".to_string(), strings()));
        assert_eq!(lay.fields()[1], ("k".to_string(), DataType::Int32));
        let mut at = 0;
        for rg in 0..4 {
            let ranges = lay.ranges(rg, &["name", "k"]).unwrap();
            let got = read_all(
                lay.reader(rg, &chunks(&f, &ranges), &["k", "name"], 128, None)
                    .unwrap(),
            )
            .unwrap();
            for b in got {
                let names = b.column(0).as_dictionary::<Int32Type>();
                let values = names.values().as_string::<i32>();
                let ks = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
                for i in 0..b.num_rows() {
                    let row = at + i;
                    assert_eq!(ks.value(i) as usize, row);
                    let want = (row % 3 != 0).then(|| format!("value-{}", row % 7));
                    let got = names.key(i).map(|k| values.value(k).to_string());
                    assert_eq!(got, want);
                }
                at += b.num_rows();
            }
        }
        assert_eq!(at, 1000);
    }

    #[test]
    fn reads_the_rows_asked_for() {
        let f = file(1000, 1000);
        let lay = layout(&f);
        let ranges = lay.ranges(0, &["k"]).unwrap();
        let rows = [0usize, 1, 2, 500, 999];
        let got = read_all(
            lay.reader(0, &chunks(&f, &ranges), &["k"], 10, Some(&rows))
                .unwrap(),
        )
        .unwrap();
        let ks: Vec<i32> = got
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
                a.values().to_vec()
            })
            .collect();
        assert_eq!(ks, vec![0, 1, 2, 500, 999]);
        assert!(lay
            .reader(0, &chunks(&f, &ranges), &["k"], 10, Some(&[5, 5]))
            .is_err());
        assert!(lay
            .reader(0, &chunks(&f, &ranges), &["k"], 10, Some(&[1000]))
            .is_err());
    }

    #[test]
    fn bytes_not_given_are_an_error_not_a_guess() {
        let f = file(100, 100);
        let lay = layout(&f);
        let ranges = lay.ranges(0, &["k"]).unwrap();
        // the ranges of `k` do not hold `name`
        let r = lay.reader(0, &chunks(&f, &ranges), &["name"], 10, None);
        let err = match r {
            Err(e) => e,
            Ok(reader) => read_all(reader).unwrap_err(),
        };
        assert!(err.contains("were not read"), "{err}");
    }

    #[test]
    fn malformed_footers_are_errors() {
        assert!(metadata_len(b"1234").is_err());
        assert!(metadata_len(b"\x10\0\0\0PAR2").is_err());
        assert!(metadata_len(b"\x10\0\0\0PARE").is_err());
        assert!(metadata_len(b"\xff\xff\xff\x7fPAR1").is_err());
        assert_eq!(metadata_len(b"\x10\0\0\0PAR1"), Ok(16));
        let f = file(10, 10);
        let n = metadata_len(&f[f.len() - TRAILER..]).unwrap();
        let meta = &f[f.len() - TRAILER - n..f.len() - TRAILER];
        assert!(
            Layout::new(meta, 10).is_err(),
            "a file shorter than its footer"
        );
        assert!(Layout::new(&meta[..n / 2], f.len() as u64).is_err());
        assert!(
            Layout::new(meta, (n + TRAILER + 4) as u64).is_err(),
            "chunks past the data"
        );
        assert!(layout(&f).ranges(1, &["k"]).is_err());
        assert!(layout(&f).ranges(0, &["nope"]).is_err());
    }
}
