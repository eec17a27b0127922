// Show Log: the channel is revealed at once and once more a second later (VS Code can drop a reveal in a window's first seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogRevealer } from '../../src/extension/logRevealer';

/** An output channel that records each reveal and its focus flag. */
function recordingChannel(): { channel: { show(preserveFocus?: boolean): void }; shows: boolean[] } {
  const shows: boolean[] = [];
  const channel = { show: (preserveFocus?: boolean): void => void shows.push(preserveFocus === true) };
  return { channel, shows };
}

test('Show Log reveals the channel at once and again a second later, the second time without taking the focus', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { channel, shows } = recordingChannel();
  const revealer = new LogRevealer(channel);
  revealer.show();
  assert.deepEqual(shows, [false]);
  t.mock.timers.tick(999);
  assert.deepEqual(shows, [false]);
  t.mock.timers.tick(1);
  assert.deepEqual(shows, [false, true]);
  t.mock.timers.tick(10_000);
  assert.deepEqual(shows, [false, true], 'one repeat, not a loop');
  revealer.dispose();
});

test('two clicks in a row give one repeat after the second; dispose cancels a pending repeat and later clicks', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { channel, shows } = recordingChannel();
  const revealer = new LogRevealer(channel);
  revealer.show();
  t.mock.timers.tick(500);
  revealer.show();
  t.mock.timers.tick(1000);
  assert.deepEqual(shows, [false, false, true]);
  revealer.show();
  revealer.dispose();
  t.mock.timers.tick(5000);
  revealer.show();
  assert.deepEqual(shows, [false, false, true, false], 'nothing runs on a disposed channel');
});
