// Headless Chromium clicks through the roomcore live page: alice switches from r1 to r2
// while bob, in both rooms, watches; then, through the page's admin panel, the service bans
// bob from r2 (he cannot come back) and moves him from r1 to a new room r3. Screenshots of
// both pages go to out/.
//
// Usage: node switch.test.mjs [SERVER_URL]
//   SERVER_URL (or $ROOMCORE_URL): a running server started with --insecure-dev (the page
//   gets its access tokens from it) and --service-events, e.g. http://127.0.0.1:8080/
//   otherwise the script starts $ROOMCORE_SERVER_BIN (default ../../target/release/roomcore-server)
//   on a free port and stops it at the end.
// $CHROMIUM overrides /usr/bin/chromium. $ROOMCORE_ADMIN_TOKEN: the server's admin token.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, "out");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
// Without these, Chromium tries to reach Google's services and hangs on a closed network.
const args = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// The whole run is bounded: a hang is a failure, not a stuck CI job.
const watchdog = setTimeout(() => fail(new Error("timed out after 90 s")), 90_000);

const adminToken = process.env.ROOMCORE_ADMIN_TOKEN || "browser-test-admin-token-0123456789";
let stopServer = () => {};
let context = null;
let userDataDir = null;

async function startServer() {
  const given = process.argv[2] || process.env.ROOMCORE_URL;
  if (given) return given;
  const bin = process.env.ROOMCORE_SERVER_BIN ||
    path.join(here, "..", "..", "target", "release", "roomcore-server");
  // A development server: the page gets its access tokens from POST /dev/token.
  const child = spawn(bin, ["--listen", "127.0.0.1:0", "--insecure-dev", "--service-events"], {
    env: { ...process.env, ROOMCORE_ADMIN_TOKEN: adminToken },
    stdio: ["ignore", "pipe", "inherit"],
  });
  stopServer = () => child.kill();
  return await new Promise((resolve, reject) => {
    let buf = "";
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error("server exited with " + code)));
    child.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
  });
}

async function login(page, url, session, user) {
  await page.goto(url);
  await page.fill("#session", session);
  await page.fill("#user", user);
  await page.click("#login");
  await page.locator("#status", { hasText: "logged in" }).waitFor();
}

async function enter(page, room, button = "#enter") {
  await page.fill("#room", room);
  await page.click(button);
  await page.locator(`[data-room="${room}"] .state`, { hasText: "connected" }).waitFor();
}

/// Waits until the room's member list on the page is exactly `users`.
async function members(page, room, users) {
  const want = JSON.stringify(users);
  try {
    await page.waitForFunction(
      ([room, want]) => {
        const lis = document.querySelectorAll(`[data-room="${room}"] .members li`);
        return JSON.stringify([...lis].map((li) => li.textContent)) === want;
      },
      [room, want],
      { timeout: 10_000 },
    );
  } catch (e) {
    const got = await page.locator(`[data-room="${room}"] .members li`).allTextContents();
    throw new Error(`${room}: expected members ${want}, page shows ${JSON.stringify(got)}`);
  }
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  const url = await startServer();
  console.log("server:", url);
  userDataDir = mkdtempSync(path.join(os.tmpdir(), "roomcore-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args,
    viewport: { width: 1100, height: 760 },
  });
  context.setDefaultTimeout(10_000);
  const alice = await context.newPage();
  const bob = await context.newPage();

  await login(alice, url, "web-alice", "alice");
  await login(bob, url, "web-bob", "bob");
  await enter(alice, "r1", "#create");
  await enter(bob, "r1", "#join");
  await enter(bob, "r2");
  await members(alice, "r1", ["alice", "bob"]);
  await members(bob, "r1", ["alice", "bob"]);
  await members(bob, "r2", ["bob"]);

  // alice switches r1 -> r2.
  await alice.selectOption("#switch-from", "r1");
  await alice.fill("#switch-to", "r2");
  await alice.click("#switch");
  await alice.locator('[data-room="r2"] .state', { hasText: "connected" }).waitFor();
  await alice.locator('[data-room="r1"]').waitFor({ state: "detached" });
  await members(alice, "r2", ["bob", "alice"]);

  // bob watched both rooms: alice left r1 and joined r2.
  await members(bob, "r1", ["bob"]);
  await members(bob, "r2", ["bob", "alice"]);
  const log = await bob.locator("#log").textContent();
  for (const needle of ['"members_left","session":"web-bob","room_id":"r1"',
                        '"members_joined","session":"web-bob","room_id":"r2"']) {
    if (!log.includes(needle)) throw new Error("bob's event stream lacks " + needle);
  }
  const aliceLog = await alice.locator("#log").textContent();
  const order = ['"room_id":"r2","state":"connecting","event":"active_switch"',
                 '"room_id":"r2","state":"connected","event":"success"',
                 '"room_id":"r1","state":"disconnected","event":"success"'];
  const at = order.map((s) => aliceLog.indexOf(s));
  if (at.some((i) => i < 0) || !(at[0] < at[1] && at[1] < at[2])) {
    throw new Error("alice's switch events are missing or out of order: " + at);
  }

  await alice.screenshot({ path: path.join(outDir, "switch-alice.png"), fullPage: true });
  await bob.screenshot({ path: path.join(outDir, "switch-bob.png"), fullPage: true });
  console.log("ok: switch r1 -> r2 seen by both pages");

  // The join snapshot: the room's incarnation id came with the reply.
  await alice.locator('[data-room="r2"] .sid', { hasText: /^R\d+$/ }).waitFor();
  await banAndMove(alice, bob);
  await alice.screenshot({ path: path.join(outDir, "ban-move-alice.png"), fullPage: true });
  await bob.screenshot({ path: path.join(outDir, "ban-move-bob.png"), fullPage: true });
  console.log("ok: ban from r2 and move r1 -> r3 seen by both pages; screenshots in", outDir);
}

async function adminClick(page, button, room, users, to, expect) {
  await page.fill("#admin-token", adminToken);
  await page.fill("#admin-room", room);
  await page.fill("#admin-users", users);
  await page.fill("#admin-to", to);
  await page.click(button);
  await page.locator("#admin-reply", { hasText: expect }).waitFor();
}

async function banAndMove(alice, bob) {
  // alice's page speaks for the service: bob is banned from r2.
  await adminClick(alice, "#admin-ban", "r2", "bob", "", '"banned":["bob"]');
  await bob.locator('[data-room="r2"]').waitFor({ state: "detached" });
  await bob.locator("#notices", { hasText: "out of r2: kicked_out" }).waitFor();
  await members(alice, "r2", ["alice"]);
  await alice.locator("#notices", { hasText: "bob left r2 (banned)" }).waitFor();
  // The service's own view: the numbered service event says why he left.
  await alice.click("#admin-events");
  await alice.locator("#admin-reply", { hasText: '"room_id":"r2"' }).waitFor();
  await alice.locator("#admin-reply", { hasText: '"user_id":"bob","session_id":"web-bob","reason":"banned"' }).waitFor();
  // He cannot come back.
  await bob.fill("#room", "r2");
  await bob.click("#join");
  await bob.locator("#status", { hasText: "user_banned" }).waitFor();
  await bob.locator("#notices", { hasText: "banned from r2" }).waitFor();

  // bob is moved from r1 to r3 (created for him): his page goes through a switch.
  await adminClick(alice, "#admin-move", "r1", "bob", "r3", '"moved":["bob"]');
  await bob.locator('[data-room="r3"] .state', { hasText: "connected" }).waitFor();
  await bob.locator('[data-room="r1"]').waitFor({ state: "detached" });
  await members(bob, "r3", ["bob"]);
  const log = await bob.locator("#log").textContent();
  const order = ['"room_id":"r3","state":"connecting","event":"active_switch"',
                 '"room_id":"r3","state":"connected","event":"success"',
                 '"room_id":"r1","state":"disconnected","event":"success"'];
  const at = order.map((s) => log.indexOf(s));
  if (at.some((i) => i < 0) || !(at[0] < at[1] && at[1] < at[2])) {
    throw new Error("bob's move events are missing or out of order: " + at);
  }
}

async function cleanup() {
  clearTimeout(watchdog);
  if (context) await context.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  stopServer();
}

async function fail(e) {
  console.error("browser test FAILED:", e.message);
  if (context) {
    for (const [i, p] of context.pages().entries()) {
      await p.screenshot({ path: path.join(outDir, `failure-${i}.png`), fullPage: true }).catch(() => {});
    }
  }
  await cleanup();
  process.exit(1);
}

main().then(cleanup).catch(fail);
