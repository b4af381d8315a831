-- Idempotency keys of CreatePackageV1 (metadata `idempotency-key`). A key is written in the same
-- transaction as the package it created, so a retry with the same key finds the original id and
-- writes no second package or event. `fingerprint` is the md5 of the request's fields: the same
-- key with other fields is refused. Keys older than `repo.idempotency_retention` are deleted in
-- batches by the API (and may be reused before that).
CREATE TABLE idempotency_key (
  idem_key    text        PRIMARY KEY CHECK (char_length(idem_key) BETWEEN 1 AND 128),
  fingerprint text        NOT NULL,
  package_id  bigint      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_key_created_at ON idempotency_key (created_at);
