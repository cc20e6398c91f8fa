// The same single operations as benchmarks/codec_costs.py, through sharp (ipx's library, its own
// libvips build): CPU ms per call, one libvips thread, no cache. Prints one JSON object.
// Run by codec_costs.py: node benchmarks/ipx/codec_costs.mjs <.ipx folder> <sources folder> <count>
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const [ipxDir, sourcesDir, countText] = process.argv.slice(2);
const sharp = createRequire(path.join(ipxDir, 'package.json'))('sharp');
sharp.concurrency(1);
sharp.cache(false);
const count = Number(countText);
const sources = [...Array(count).keys()].map(n => fs.readFileSync(path.join(sourcesDir, `src${String(n).padStart(3, '0')}.jpg`)));
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = a => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };

async function measure(fn, runs) {
  await fn(0);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = cpuMs();
    await fn(i);
    times.push(cpuMs() - started);
  }
  return Math.round(median(times) * 10) / 10;
}

const runs = 3 * count;
const fit800 = await Promise.all(sources.map(d => sharp(d).resize(800, 600, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true })));
const fill = await Promise.all(sources.map(d => sharp(d).resize(300, 225).raw().toBuffer({ resolveWithObject: true })));
const result = {
  fit512_jpeg: await measure(i => sharp(sources[i % count]).resize(512, 512, { fit: 'inside' }).jpeg({ quality: 80 }).toBuffer(), runs),
  webp_encode_800x600: await measure(i => { const r = fit800[i % count]; return sharp(r.data, { raw: r.info }).webp({ quality: 79, effort: 4 }).toBuffer(); }, runs),
  smartcrop_300x225: await measure(i => { const r = fill[i % count]; return sharp(r.data, { raw: r.info }).resize(300, 200, { fit: 'cover', position: 'attention' }).raw().toBuffer(); }, runs),
  centre_crop_300x225: await measure(i => { const r = fill[i % count]; return sharp(r.data, { raw: r.info }).resize(300, 200, { fit: 'cover' }).raw().toBuffer(); }, runs),
  versions: { sharp: sharp.versions.sharp, vips: sharp.versions.vips, webp: sharp.versions.webp, jpeg: sharp.versions.mozjpeg ? 'mozjpeg ' + sharp.versions.mozjpeg : 'libjpeg-turbo' },
};
console.log(JSON.stringify(result));
