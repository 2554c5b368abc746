/**
 * Message components in the fake Discord: link buttons in action rows on message create (JSON
 * and multipart `payload_json`) and edit, kept with the message, in every answer and gateway
 * event, and refused as Discord refuses them (400 / 50035 Invalid Form Body).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, GatewayIntentBits, type Message } from 'discord.js';
import { startBed, type Bed } from './helpers.js';
import { withTimeout } from '../support/wait.js';

let bed: Bed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

const row = (...buttons: object[]) => ({ type: 1, components: buttons });
const link = (url: string, label = 'Download') => ({ type: 2, style: 5, label, url });

async function call(b: Bed, method: string, path: string, body: { json?: unknown; form?: FormData }) {
  const headers: Record<string, string> = { Authorization: `Bot ${b.fake.token}` };
  if (body.json !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${b.fake.apiUrl}/v10${path}`, {
    method,
    headers,
    body: body.json !== undefined ? JSON.stringify(body.json) : body.form!,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('message components in the fake Discord', () => {
  it('GIVEN a link button in an action row WHEN a message is created (JSON and multipart) and edited THEN the fake keeps it, answers it, and the client sees it in MESSAGE_CREATE and MESSAGE_UPDATE', async () => {
    bed = await startBed({}, { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages] });
    const { fake, client } = bed;
    const channel = fake.channels[0]!.id;
    const seen = { created: [] as Message[], updated: [] as Message[] };
    client.on('messageCreate', (m) => seen.created.push(m));
    client.on('messageUpdate', (_old, m) => seen.updated.push(m as Message));

    const components = [
      new ActionRowBuilder<ButtonBuilder>()
        .addComponents(new ButtonBuilder().setStyle(ButtonStyle.Link).setLabel('Download').setURL('https://example.test/a'))
        .toJSON(),
    ];
    const sent = (await client.rest.post(`/channels/${channel}/messages`, { body: { content: 'json', components } })) as {
      id: string;
      components: unknown[];
    };
    expect(sent.components).toEqual([row(link('https://example.test/a'))]);

    const fd = new FormData();
    fd.append('files[0]', new Blob([Buffer.from('part')]), 'a.bin');
    fd.append(
      'payload_json',
      JSON.stringify({ content: 'multipart', components: [row(link('https://example.test/b'))], attachments: [{ id: '0' }] }),
    );
    const multi = await call(bed, 'POST', `/channels/${channel}/messages`, { form: fd });
    expect(multi.status).toBe(200);
    expect(multi.body.components).toEqual([row(link('https://example.test/b'))]);

    const edited = await call(bed, 'PATCH', `/channels/${channel}/messages/${multi.body.id}`, {
      json: { components: [row(link('https://example.test/c', 'Again'))] },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.components).toEqual([row(link('https://example.test/c', 'Again'))]);
    expect(edited.body.attachments).toHaveLength(1);
    const read = (await client.rest.get(`/channels/${channel}/messages/${multi.body.id}`)) as { components: unknown[] };
    expect(read.components).toEqual([row(link('https://example.test/c', 'Again'))]);
    expect(fake.messages(channel).find((m) => m.id === sent.id)?.components).toEqual([row(link('https://example.test/a'))]);

    await withTimeout(
      (async () => {
        for (let i = 0; i < 100 && (seen.created.length < 2 || seen.updated.length < 1); i++) await new Promise((r) => setTimeout(r, 20));
      })(),
      5000,
      'gateway events',
    );
    const createdButton = seen.created.find((m) => m.id === sent.id)?.components[0]?.toJSON();
    expect(createdButton).toMatchObject(row(link('https://example.test/a')));
    expect(seen.updated.at(-1)?.components[0]?.toJSON()).toMatchObject(row(link('https://example.test/c', 'Again')));

    const cleared = await call(bed, 'PATCH', `/channels/${channel}/messages/${sent.id}`, { json: { components: [] } });
    expect(cleared.body.components).toEqual([]);
    expect(bed.errors).toEqual([]);
  });

  it('GIVEN a link button without url, a url over 512 characters, a label over 80, a custom_id on a link, 6 buttons in a row or 6 rows WHEN created or edited THEN 400 / 50035 naming the field, and nothing changes', async () => {
    bed = await startBed();
    const channel = bed.fake.channels[0]!.id;
    const ok = await call(bed, 'POST', `/channels/${channel}/messages`, { json: { content: 'x', components: [row(link('http://127.0.0.1/d/t'))] } });
    expect(ok.status).toBe(200);
    const cases: [string, object[], (errors: any) => unknown][] = [
      ['no url', [row({ type: 2, style: 5, label: 'Download' })], (e) => e.components['0'].components['0'].url],
      ['url over 512', [row(link(`https://example.test/${'a'.repeat(493)}`))], (e) => e.components['0'].components['0']],
      ['label over 80', [row(link('https://example.test/', 'L'.repeat(81)))], (e) => e.components['0'].components['0']],
      ['custom_id on a link', [row({ ...link('https://example.test/'), custom_id: 'x' })], (e) => e.components['0'].components['0'].custom_id],
      ['not http', [row(link('javascript:alert(1)'))], (e) => e.components['0'].components['0'].url],
      ['6 in a row', [row(...Array.from({ length: 6 }, () => link('https://example.test/')))], (e) => e.components['0'].components],
      ['6 rows', Array.from({ length: 6 }, () => row(link('https://example.test/'))), (e) => e.components],
    ];
    for (const [name, components, field] of cases) {
      const created = await call(bed, 'POST', `/channels/${channel}/messages`, { json: { content: 'x', components } });
      expect(created.status, name).toBe(400);
      expect(created.body.code, name).toBe(50035);
      expect(field(created.body.errors), name).toBeDefined();
      const edited = await call(bed, 'PATCH', `/channels/${channel}/messages/${ok.body.id}`, { json: { components } });
      expect(edited.status, name).toBe(400);
      expect(edited.body.code, name).toBe(50035);
    }
    // 512 and 80 exactly are Discord's limits, not over them.
    const atLimits = await call(bed, 'PATCH', `/channels/${channel}/messages/${ok.body.id}`, {
      json: { components: [row(link(`https://example.test/${'a'.repeat(491)}`, 'L'.repeat(80)))] },
    });
    expect(atLimits.status).toBe(200);
    const live = bed.fake.messages(channel);
    expect(live).toHaveLength(1);
    expect(live[0]!.edits).toBe(1);
  });
});
