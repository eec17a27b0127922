#!/usr/bin/env node
// The README's main command: installs what is missing, builds the extension and
// packages the VSIX that installs in VS Code.
import { ensureDependencies, log, root, run } from './lib.mjs';

ensureDependencies();
run(process.execPath, [`${root}/scripts/package.mjs`]);
log('install it in VS Code with:  code --install-extension <the .vsix printed above>');
