-- Tamper evidence: every event carries a hash chained to the previous event of its request
-- (sha256 over the previous hash and the event's own fields, see crates/server/src/chain.rs).
-- Events recorded before this migration get theirs from `sportello migrate` / the first start,
-- which chains them in order once; `sportello events verify` recomputes every chain.
ALTER TABLE events ADD COLUMN chain_hash CHAR(64) NULL;
