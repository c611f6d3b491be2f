// Preloaded into a measured child process: reports its peak RSS when it exits.
'use strict';
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  if (process.env.CALLGUARD_RSS_FILE) writeFileSync(process.env.CALLGUARD_RSS_FILE, String(process.resourceUsage().maxRSS * 1024));
});
