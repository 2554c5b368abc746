/** Loads `.env` from the working directory without dotenv's banner on stdout (logs are JSON lines there). */
import dotenv from 'dotenv';

dotenv.config({ quiet: true });
