//! The vector cache (`kb_vectors`, migration V4): dense vectors of knowledge texts by
//! (embedding model id, content hash). Used by the knowledge index build on its own connection
//! to the ledger file (see [`super::KbIndex`]).

use std::collections::HashMap;

use rusqlite::{Connection, params};

/// The cached vectors of `model` among `hashes`, by hash. Rows of another dimension than the
/// first one found are ignored (a model id reused for other weights re-embeds).
pub(crate) fn cached_vectors(
    conn: &Connection,
    model: &str,
    hashes: &[&str],
) -> rusqlite::Result<HashMap<String, Vec<f32>>> {
    let mut stmt =
        conn.prepare_cached("SELECT dim, vector FROM kb_vectors WHERE model = ?1 AND hash = ?2")?;
    let mut out = HashMap::with_capacity(hashes.len());
    for hash in hashes {
        let row = stmt
            .query_row(params![model, hash], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        if let Some((dim, blob)) = row
            && usize::try_from(dim).is_ok_and(|d| d > 0 && d * 4 == blob.len())
        {
            let v: Vec<f32> = blob
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if v.iter().all(|x| x.is_finite()) {
                out.insert((*hash).to_owned(), v);
            }
        }
    }
    Ok(out)
}

/// Stores `vectors` of `model` by hash and forgets the model's vectors of texts no longer in
/// `keep` (entries removed or edited), so the cache stays the size of the knowledge base.
pub(crate) fn store_vectors(
    conn: &Connection,
    model: &str,
    vectors: &[(&str, &[f32])],
    keep: &[&str],
) -> rusqlite::Result<()> {
    {
        let mut insert = conn.prepare_cached(
            "INSERT OR REPLACE INTO kb_vectors (model, hash, dim, vector) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (hash, v) in vectors {
            let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            let dim = i64::try_from(v.len()).unwrap_or(i64::MAX);
            insert.execute(params![model, hash, dim, blob])?;
        }
    }
    let stored: Vec<String> = {
        let mut stmt = conn.prepare_cached("SELECT hash FROM kb_vectors WHERE model = ?1")?;
        stmt.query_map([model], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut delete =
        conn.prepare_cached("DELETE FROM kb_vectors WHERE model = ?1 AND hash = ?2")?;
    for hash in stored.iter().filter(|h| !keep.contains(&h.as_str())) {
        delete.execute(params![model, hash])?;
    }
    Ok(())
}
