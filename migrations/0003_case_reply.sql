-- Where the bot's answer to a case was posted (platform channel and message id), written after
-- the platform confirmed the send. Button presses are checked against it.
ALTER TABLE cases ADD COLUMN reply_channel TEXT;
ALTER TABLE cases ADD COLUMN reply_message TEXT;
