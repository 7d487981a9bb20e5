//! `X-Connect-Bookmark`: how a caller reads its own writes when reads may be served by a
//! D1 read replica, and why only bookmarks this API sent are taken.
//!
//! Every answer of the workspace API to a live key carries the bookmark of the database
//! state it saw; a request that sends it back is served by a replica at least that recent.
//! The header's value is the shard the workspace lives in, D1's own bookmark of that
//! database, and a tag:
//!
//! ```text
//! SHARD_1:00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683:k1.5c3a…(32 hex)
//! <shard>:<D1's bookmark, 8-8-8-32 hex digits>:<key id>.<tag>
//! ```
//!
//! The tag is HMAC-SHA256, cut to its first 128 bits and written in lowercase hex, over the
//! workspace, the shard and D1's bookmark, under a key derived from a key of the secrets
//! key ring ([`KeyRing`]): HMAC-SHA256 of the ring key over a fixed label, so the bookmark
//! keys are not the keys that seal, and nothing sealed can be made from a tag. The primary
//! key signs; every key of the ring verifies, so a bookmark keeps working across a
//! rotation for as long as the key that signed it stays in the ring. The tag is compared
//! in constant time.
//!
//! D1 takes any string as a bookmark (locally it even echoes it back, and a replica may
//! wait for a state that never comes), so a value is taken only if its tag shows that this
//! API sent it to this workspace, for the shard the workspace lives in ([`BookmarkKeys::read`]);
//! a [`Bookmark`] that exists is either D1's own answer ([`Bookmark::new`]) or one read so.
//! A bookmark of another workspace is refused even on the same shard: a caller holds one
//! workspace's key, so it never has a reason to send another's, and refusing it whatever
//! the shards does not make a script's mistake depend on where two workspaces happen to
//! live.

use crate::server::seal::{is_key_id, KeyRing};
use crate::server::shards::is_shard_name;
use crate::wire::ids::WorkspaceId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The header's name, as errors name it.
pub const HEADER: &str = "X-Connect-Bookmark";

/// The lengths of the hexadecimal groups of a D1 bookmark.
const D1_GROUPS: [usize; 4] = [8, 8, 8, 32];

/// Bytes of a tag: HMAC-SHA256 cut to 128 bits.
pub const TAG_LEN: usize = 16;

/// What a ring key is HMACed over to make the key of bookmark tags.
const KEY_LABEL: &[u8] = b"connect/X-Connect-Bookmark/v1";

type HmacSha256 = Hmac<Sha256>;

/// A bookmark of this API: D1's bookmark of a shard's database, as an answer to a request
/// of one workspace saw it. Made from D1's answer ([`Bookmark::new`]) or read from the
/// header with its tag checked ([`BookmarkKeys::read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookmark {
    workspace: WorkspaceId,
    shard: String,
    d1: String,
}

/// Whether `text` has the shape of a D1 bookmark: four groups of 8, 8, 8 and 32
/// hexadecimal digits. D1 sessions also take constraints (`first-primary`) where a
/// bookmark goes; those are never a bookmark of this API.
fn is_d1_bookmark(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == D1_GROUPS.len()
        && groups
            .iter()
            .zip(D1_GROUPS)
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Bookmark {
    /// The bookmark D1 gave for `shard`'s database, in an answer to `workspace`: `None`
    /// unless it has D1's shape and `shard` can name a shard.
    pub fn new(workspace: &WorkspaceId, shard: &str, d1: &str) -> Option<Self> {
        (is_shard_name(shard) && is_d1_bookmark(d1)).then(|| Self {
            workspace: workspace.clone(),
            shard: shard.to_owned(),
            d1: d1.to_owned(),
        })
    }

    /// The workspace it was sent to.
    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    /// The shard whose database it orders.
    pub fn shard(&self) -> &str {
        &self.shard
    }

    /// D1's bookmark, to start a session at.
    pub fn d1(&self) -> &str {
        &self.d1
    }

    /// What the tag covers: the workspace, the shard and D1's bookmark, none of which can
    /// hold a line break.
    fn signed_text(&self) -> String {
        format!("{}\n{}\n{}", self.workspace, self.shard, self.d1)
    }
}

/// Why a sent `X-Connect-Bookmark` is refused. Each says what to do; none shows a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookmarkError {
    /// Not of the form this API sends.
    Malformed,
    /// Tagged under a key the ring no longer holds (removed after a rotation).
    UnknownKey,
    /// Its tag is not this API's for this workspace: made up, altered, or another
    /// workspace's.
    NotSent,
    /// A bookmark this API sent to this workspace, of a shard the workspace no longer
    /// lives in.
    OtherShard,
}

impl fmt::Display for BookmarkError {
    /// Completes the sentence "X-Connect-Bookmark ...".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => {
                "is not a bookmark as this API sends them (shard:bookmark:key.tag); send the latest one received, as it is, or none"
            }
            Self::UnknownKey => {
                "was signed with a key this service no longer uses; send the bookmark of this answer, or none"
            }
            Self::NotSent => {
                "was not sent by this API to this workspace (made up, altered, or another workspace's); send the latest one this workspace received, or none"
            }
            Self::OtherShard => {
                "is of another database than this workspace's; send the bookmark of this answer, or none"
            }
        })
    }
}

impl std::error::Error for BookmarkError {}

/// The keys that tag bookmarks, one derived from each key of the ring, the primary's
/// first: it tags, every one checks.
#[derive(Clone)]
pub struct BookmarkKeys {
    keys: Vec<(String, HmacSha256)>,
}

impl fmt::Debug for BookmarkKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "BookmarkKeys({ids:?}, keys redacted)")
    }
}

/// Whether `text` is what this API writes for a tag: 32 lowercase hex digits.
fn is_tag(text: &str) -> bool {
    text.len() == 2 * TAG_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl BookmarkKeys {
    /// The bookmark keys of `ring`: for each of its keys, HMAC-SHA256 of the key over a
    /// fixed label.
    pub fn of(ring: &KeyRing) -> Self {
        let keys = ring
            .keys()
            .map(|(id, bytes)| {
                let derived = mac(bytes).chain_update(KEY_LABEL).finalize().into_bytes();
                (id.to_owned(), mac(&derived))
            })
            .collect();
        Self { keys }
    }

    /// The header's value for `bookmark`: `<shard>:<D1 bookmark>:<key id>.<tag>`, tagged
    /// under the primary key.
    pub fn header_value(&self, bookmark: &Bookmark) -> String {
        // `KeyRing::parse` refuses an empty ring, so there is a primary.
        let (id, key) = &self.keys[0];
        let tag = key
            .clone()
            .chain_update(bookmark.signed_text())
            .finalize()
            .into_bytes();
        format!(
            "{}:{}:{id}.{}",
            bookmark.shard,
            bookmark.d1,
            hex::encode(&tag[..TAG_LEN])
        )
    }

    /// Reads the header's value sent with a request of `workspace`, which lives in
    /// `shard`: `None` when it is empty (a script that sends its last bookmark before it
    /// has one), the bookmark when this API sent it to this workspace for this shard, else
    /// why not.
    pub fn read(
        &self,
        raw: &str,
        workspace: &WorkspaceId,
        shard: &str,
    ) -> Result<Option<Bookmark>, BookmarkError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let parts: Vec<&str> = raw.split(':').collect();
        let [sent_shard, d1, signature] = parts[..] else {
            return Err(BookmarkError::Malformed);
        };
        let (key_id, tag) = signature.split_once('.').ok_or(BookmarkError::Malformed)?;
        if !is_key_id(key_id) || !is_tag(tag) {
            return Err(BookmarkError::Malformed);
        }
        let bookmark = Bookmark::new(workspace, sent_shard, d1).ok_or(BookmarkError::Malformed)?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(id, _)| id == key_id)
            .ok_or(BookmarkError::UnknownKey)?;
        let mut tag_bytes = [0u8; TAG_LEN];
        hex::decode_to_slice(tag, &mut tag_bytes).map_err(|_| BookmarkError::Malformed)?;
        // Constant time: how much of a guessed tag is right does not show in the timing.
        key.clone()
            .chain_update(bookmark.signed_text())
            .verify_truncated_left(&tag_bytes)
            .map_err(|_| BookmarkError::NotSent)?;
        if bookmark.shard != shard {
            return Err(BookmarkError::OtherShard);
        }
        Ok(Some(bookmark))
    }
}

/// HMAC-SHA256 keyed with `key`. Any length of key is valid for HMAC.
fn mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes a key of any length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::seal::tests::ring;
    use proptest::prelude::*;

    const D1: &str = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";

    fn ws(id: &str) -> WorkspaceId {
        WorkspaceId::parse(id).unwrap()
    }

    fn keys(text: &str) -> BookmarkKeys {
        BookmarkKeys::of(&ring(text))
    }

    fn ring_a() -> String {
        format!("a:{}", "aa".repeat(32))
    }

    fn ring_b() -> String {
        format!("b:{}", "bb".repeat(32))
    }

    #[test]
    fn a_bookmark_sent_reads_back_for_its_workspace_and_shard() {
        let k = keys(&ring_a());
        let b = Bookmark::new(&ws("org_one"), "SHARD_1", D1).unwrap();
        let sent = k.header_value(&b);
        let (head, tag) = sent.rsplit_once('.').unwrap();
        assert_eq!(head, format!("SHARD_1:{D1}:a"));
        assert!(is_tag(tag), "{sent}");
        let read = k.read(&sent, &ws("org_one"), "SHARD_1").unwrap().unwrap();
        assert_eq!(read, b);
        assert_eq!((read.shard(), read.d1()), ("SHARD_1", D1));
        assert_eq!(read.workspace(), &ws("org_one"));
        assert_eq!(
            k.read(&format!(" {sent} "), &ws("org_one"), "SHARD_1"),
            Ok(Some(b))
        );
    }

    /// The tag of a fixed bookmark, as Python's `hmac` computes it: HMAC-SHA256 under
    /// HMAC-SHA256(key, label), cut to 16 bytes. A change here would make every bookmark
    /// held by a caller a 400 on the next deployment.
    #[test]
    fn the_tag_is_the_documented_hmac() {
        let b = Bookmark::new(&ws("org_one"), "SHARD_1", D1).unwrap();
        assert_eq!(
            keys(&ring_a()).header_value(&b),
            format!("SHARD_1:{D1}:a.844d4ee3f6505b1bcd5ad6ad5f478fe8")
        );
    }

    #[test]
    fn an_empty_value_is_none() {
        let k = keys(&ring_a());
        assert_eq!(k.read("", &ws("org_one"), "SHARD_1"), Ok(None));
        assert_eq!(k.read("  ", &ws("org_one"), "SHARD_1"), Ok(None));
    }

    #[test]
    fn another_workspaces_bookmark_is_refused_on_any_shard() {
        let k = keys(&ring_a());
        let sent = k.header_value(&Bookmark::new(&ws("org_one"), "SHARD_1", D1).unwrap());
        assert_eq!(
            k.read(&sent, &ws("org_two"), "SHARD_1"),
            Err(BookmarkError::NotSent)
        );
        assert_eq!(
            k.read(&sent, &ws("org_two"), "SHARD_2"),
            Err(BookmarkError::NotSent)
        );
        // The workspace's own, of a shard it does not live in (it moved).
        assert_eq!(
            k.read(&sent, &ws("org_one"), "SHARD_2"),
            Err(BookmarkError::OtherShard)
        );
    }

    #[test]
    fn a_bookmark_survives_a_rotation_while_its_key_is_in_the_ring() {
        let before = keys(&ring_a());
        let rotated = keys(&format!("{},{}", ring_b(), ring_a()));
        let after = keys(&ring_b());
        let b = Bookmark::new(&ws("org_one"), "SHARD_1", D1).unwrap();
        let old = before.header_value(&b);
        let new = rotated.header_value(&b);
        assert!(new.contains(":b."), "the new primary signs: {new}");
        assert_ne!(old, new);
        for (k, sent, want) in [
            (&rotated, &old, Ok(Some(b.clone()))),
            (&rotated, &new, Ok(Some(b.clone()))),
            (&after, &new, Ok(Some(b.clone()))),
            (&after, &old, Err(BookmarkError::UnknownKey)),
            (&before, &new, Err(BookmarkError::UnknownKey)),
        ] {
            assert_eq!(k.read(sent, &ws("org_one"), "SHARD_1"), want, "{sent}");
        }
        // A key of the same id and other bytes: not this API's tag.
        let same_id = keys(&format!("a:{}", "ab".repeat(32)));
        assert_eq!(
            same_id.read(&old, &ws("org_one"), "SHARD_1"),
            Err(BookmarkError::NotSent)
        );
    }

    #[test]
    fn the_tag_key_is_not_the_sealing_key() {
        // Tagged directly with the ring key (no derivation), the value is refused.
        let b = Bookmark::new(&ws("org_one"), "SHARD_1", D1).unwrap();
        let direct = mac(&[0xaa; 32])
            .chain_update(b.signed_text())
            .finalize()
            .into_bytes();
        let forged = format!("SHARD_1:{D1}:a.{}", hex::encode(&direct[..TAG_LEN]));
        assert_eq!(
            keys(&ring_a()).read(&forged, &ws("org_one"), "SHARD_1"),
            Err(BookmarkError::NotSent)
        );
        assert!(!format!("{:?}", keys(&ring_a())).contains("aa"));
    }

    #[test]
    fn malformed_and_made_up_values_are_refused() {
        let k = keys(&ring_a());
        let tag = "0".repeat(32);
        let sent = k.header_value(&Bookmark::new(&ws("org_one"), "SHARD_1", D1).unwrap());
        let sent_tag = sent.rsplit_once('.').unwrap().1;
        for (bad, want) in [
            (":".to_owned(), BookmarkError::Malformed),
            (D1.to_owned(), BookmarkError::Malformed),
            ("first-primary".to_owned(), BookmarkError::Malformed),
            (format!("SHARD_1:{D1}"), BookmarkError::Malformed),
            (format!("SHARD_1:{D1}:a"), BookmarkError::Malformed),
            (format!("SHARD_1:{D1}:a."), BookmarkError::Malformed),
            (format!("SHARD_1:{D1}:.{tag}"), BookmarkError::Malformed),
            (format!("SHARD_1:{D1}:A.{tag}"), BookmarkError::Malformed),
            (
                format!("SHARD_1:{D1}:{}.{tag}", "a".repeat(17)),
                BookmarkError::Malformed,
            ),
            (
                format!("SHARD_1:{D1}:a.{}", &tag[1..]),
                BookmarkError::Malformed,
            ),
            (format!("SHARD_1:{D1}:a.{tag}0"), BookmarkError::Malformed),
            (
                format!("SHARD_1:{D1}:a.{}", sent_tag.to_uppercase()),
                BookmarkError::Malformed,
            ),
            (
                format!("SHARD_1:{D1}:a.{}", "g".repeat(32)),
                BookmarkError::Malformed,
            ),
            (format!("SHARD_1:{D1}:a.{tag}:x"), BookmarkError::Malformed),
            (
                format!("SHARD_1:first-primary:a.{tag}"),
                BookmarkError::Malformed,
            ),
            (format!("SHARD 1:{D1}:a.{tag}"), BookmarkError::Malformed),
            (
                format!("{}:{D1}:a.{tag}", "S".repeat(65)),
                BookmarkError::Malformed,
            ),
            (
                format!("SHARD_1:{}:a.{tag}", &D1[1..]),
                BookmarkError::Malformed,
            ),
            (
                format!("SHARD_1:{}:a.{tag}", D1.replace('-', "")),
                BookmarkError::Malformed,
            ),
            (
                format!("SHARD_1:{}:a.{tag}", D1.replacen('0', "g", 1)),
                BookmarkError::Malformed,
            ),
            (
                "SHARD_1:' OR 1=1 --:a.x".to_owned(),
                BookmarkError::Malformed,
            ),
            (format!("SHARD_1:{D1}:z.{tag}"), BookmarkError::UnknownKey),
            (format!("SHARD_1:{D1}:a.{tag}"), BookmarkError::NotSent),
            (
                format!("SHARD_2:{}", sent.split_once(':').unwrap().1),
                BookmarkError::NotSent,
            ),
            (
                sent.replacen("00000085", "00000086", 1),
                BookmarkError::NotSent,
            ),
            (
                sent.replacen("8e61117b", "8E61117B", 1),
                BookmarkError::NotSent,
            ),
        ] {
            assert_eq!(
                k.read(&bad, &ws("org_one"), "SHARD_1"),
                Err(want.clone()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn what_d1_gives_is_a_bookmark_only_with_its_shape() {
        let w = ws("org_one");
        assert!(Bookmark::new(&w, "SHARD_1", D1).is_some());
        assert!(Bookmark::new(&w, "SHARD_1", &D1.to_uppercase()).is_some());
        for d1 in [
            "",
            "first-primary",
            "first-unconstrained",
            &D1[1..],
            &format!("{D1}-0"),
        ] {
            assert!(Bookmark::new(&w, "SHARD_1", d1).is_none(), "{d1:?}");
        }
        assert!(Bookmark::new(&w, "SHARD-1", D1).is_none());
        assert!(Bookmark::new(&w, "", D1).is_none());
    }

    fn d1_bookmark() -> impl Strategy<Value = String> {
        ("[0-9a-f]{8}", "[0-9a-f]{8}", "[0-9A-F]{8}", "[0-9a-f]{32}")
            .prop_map(|(a, b, c, d)| format!("{a}-{b}-{c}-{d}"))
    }

    proptest! {
        #[test]
        fn what_is_sent_reads_back(
            workspace in "org_[A-Za-z0-9]{1,64}",
            shard in "[A-Za-z0-9_]{1,64}",
            d1 in d1_bookmark(),
            key in "[0-9a-f]{64}",
        ) {
            let w = ws(&workspace);
            let k = keys(&format!("k1:{key}"));
            let b = Bookmark::new(&w, &shard, &d1).unwrap();
            let sent = k.header_value(&b);
            prop_assert_eq!(k.read(&sent, &w, &shard), Ok(Some(b)));
        }

        #[test]
        fn any_changed_character_is_refused(
            d1 in d1_bookmark(),
            pos in any::<usize>(),
            with in proptest::char::range('!', '~'),
        ) {
            let w = ws("org_one");
            let k = keys(&format!("{},{}", ring_b(), ring_a()));
            let sent = k.header_value(&Bookmark::new(&w, "SHARD_1", &d1).unwrap());
            let i = pos % sent.len();
            let mut changed = sent.clone().into_bytes();
            prop_assume!(changed[i] != with as u8);
            changed[i] = with as u8;
            let changed = String::from_utf8(changed).unwrap();
            prop_assert!(k.read(&changed, &w, "SHARD_1").is_err(), "{} taken", changed);
        }

        #[test]
        fn reading_never_panics_and_takes_nothing_made_up(raw in "\\PC{0,160}") {
            let k = keys(&ring_a());
            let read = k.read(&raw, &ws("org_one"), "SHARD_1");
            prop_assert!(read.is_err() || (read == Ok(None) && raw.trim().is_empty()));
        }
    }
}
