-- Online predictions of any model: a classifier's answer is a label and probabilities, not one number. `prediction`
-- keeps the number of a regression (null otherwise); `output` holds the answer as the API gave it.
ALTER TABLE online_predictions ALTER COLUMN prediction DROP NOT NULL;
ALTER TABLE online_predictions ADD COLUMN output jsonb;
