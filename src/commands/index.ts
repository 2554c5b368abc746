/** Every slash command, in one static list (no loader magic for eight commands). */
import cancel from './cancel.js';
import dashboard from './dashboard.js';
import resume from './resume.js';
import send from './send.js';
import share from './share.js';
import split from './split.js';
import status from './status.js';
import upload from './upload.js';
import type { Command } from './types.js';

export const commands: readonly Command[] = [split, upload, status, cancel, resume, dashboard, share, send];

export const commandsByName = new Map(commands.map((c) => [c.data.name, c]));
