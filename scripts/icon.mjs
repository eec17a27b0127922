// Renders media/src/icon.svg to media/icon.png (128×128, transparent corners):
// the Marketplace refuses SVG icons. Run it after editing the SVG and commit both.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { root } from './lib.mjs';
import { assertBrowser, CHROMIUM_ARGS } from './vscode.mjs';

const svg = readFileSync(join(root, 'media/src/icon.svg'), 'utf8');
const browser = await chromium.launch({ executablePath: assertBrowser(), args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 128, height: 128 }, deviceScaleFactor: 1 });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  const png = await page.locator('svg').screenshot({ omitBackground: true });
  writeFileSync(join(root, 'media/icon.png'), png);
  console.log(`media/icon.png: ${png.length} bytes`);
} finally {
  await browser.close();
}
