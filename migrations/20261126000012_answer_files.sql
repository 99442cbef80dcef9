-- Files staff attach to an answer, listed under it on the citizen's tracking page.
ALTER TABLE citizen_timeline ADD COLUMN files JSON NULL;
