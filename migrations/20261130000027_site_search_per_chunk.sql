-- A new mail link re-indexed its site's search text in a trigger, once per link: a chunk of
-- 512 messages naming one site rebuilt that site's text 512 times (the 50k small generated
-- messages of `cargo bench --bench mail`, all on one site: 3% of a bare parse; real list mail
-- 40%). The mail store now re-indexes each site a chunk linked once, after the chunk's links
-- (`core::search::reindex`), in the same transaction. Sites and notes keep their triggers
-- (one row each).
DROP TRIGGER site_search_mail;
