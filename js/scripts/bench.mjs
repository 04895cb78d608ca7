#!/usr/bin/env node
// Time one ballot encryption per group in node: the first one (which decodes the joint
// key, checks its membership and builds the fixed-base tables) and the median of the
// next ones, for the demo referendum's shape (2 options + blank, 3 options) and for a
// (3 options + blank, 3 options) referendum.   node scripts/bench.mjs [rounds]
import { GROUP_NAMES, bytesToHex, checkBallot, encryptBallot, getGroup, hashParts, publicCredential } from '../src/index.js';

const rounds = Number(process.argv[2] ?? 7);
const shapes = {
  'demo (2+blank, 3)': [['yes', 'no'], ['kirkwall', 'lerwick', 'stornoway']],
  '(3+blank, 3)': [['yes', 'no', 'later'], ['kirkwall', 'lerwick', 'stornoway']],
};
const pub = publicCredential('e'.repeat(64), 'ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2');
for (const [label, [o1, o2]] of Object.entries(shapes)) {
  const manifest = {
    questions: [
      { id: 'status', text: 's', options: o1, blank: true },
      { id: 'capital', text: 'c', options: o2 },
    ],
    regions: [{ id: 'r', name: 'R', questions: ['status', 'capital'] }],
  };
  for (const name of GROUP_NAMES) {
    const g = getGroup(name);
    const keyHex = g.gPow(g.randomScalar()).hex(); // a fresh key: no table yet
    const ctx = bytesToHex(hashParts('bench', name));
    const m = { ...manifest, group: name };
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      encryptBallot(g, m, ctx, keyHex, 'r', { status: ['yes'], capital: ['lerwick'] }, pub);
      times.push(performance.now() - t);
    }
    const t = performance.now();
    const b = encryptBallot(g, m, ctx, keyHex, 'r', { status: ['blank'], capital: ['kirkwall'] }, pub);
    const tEnc = performance.now() - t;
    const t2 = performance.now();
    if (checkBallot(g, m, ctx, keyHex, b.data).length) throw new Error('bad ballot');
    const tCheck = performance.now() - t2;
    const rest = times.slice(1).sort((a, b) => a - b);
    console.log(
      `${label.padEnd(18)} ${name.padEnd(14)} first ${times[0].toFixed(0).padStart(4)} ms, then median ${rest[rest.length >> 1].toFixed(0).padStart(4)} ms` +
        ` (blank ${tEnc.toFixed(0)} ms); full check ${tCheck.toFixed(0)} ms`,
    );
  }
}
