/**
 * @discordjs/builders, as discord.js itself loads it. The package ships a CommonJS and an ES
 * module build; discord.js requires the CommonJS one, and an `import` here would load the ES
 * build beside it: a second copy of the builders and their validators in the bot's memory
 * (about 3 MiB of peak RSS in `npm run bench`). Requiring it shares discord.js's copy.
 */
import { createRequire } from 'node:module';

type Builders = typeof import('@discordjs/builders');

const require = createRequire(import.meta.url);

export const { SlashCommandBuilder } = require('@discordjs/builders') as Builders;
