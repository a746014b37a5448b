// The page scripts' layout, by js-beautify (Debian's node-js-beautify; its command-line wrapper
// lacks a module there, so the library is called here). Formats the given files in place, or with
// --check names those that are not formatted and exits 1 (make test).
//   NODE_PATH=/usr/share/nodejs node scripts/format-js.js [--check] FILE...
'use strict';
const beautify = require('js-beautify');
const fs = require('fs');

const check = process.argv[2] === '--check';
const files = process.argv.slice(check ? 3 : 2);
const options = { indent_size: 2, max_preserve_newlines: 2, end_with_newline: true };
let unformatted = 0;
for (const f of files) {
  const src = fs.readFileSync(f, 'utf8');
  const out = beautify.js(src, options);
  if (out === src) continue;
  if (check) {
    console.error(`${f}: not formatted (make format)`);
    unformatted++;
  } else {
    fs.writeFileSync(f, out);
  }
}
process.exit(unformatted ? 1 : 0);
