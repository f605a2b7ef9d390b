// The local staff sign-in: a real OpenID Connect provider (npm oidc-provider) on 127.0.0.1, standing in
// for the Amazon Cognito user pool. One public client, the console: code flow, PKCE S256 required, ID
// tokens signed RS256 with `sub`, `email` and `cognito:groups` (Cognito's claim name, so the console reads
// both the same way). Accounts live in a JSON file that `python -m aftercare_local staff add` writes; it
// is read again at every sign-in, so accounts added while this runs work at once. The signing key and the
// cookie keys are kept beside it, so a restart keeps issued tokens verifiable.
//
// Usage: node oidc_provider.js PORT STATE_DIR SITE_PORT. Prints one JSON line {"ready": issuer} when it
// listens. Its pages load nothing from anywhere and run no script.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

const CLIENT_ID = "aftercare-console";
// The accounts file's password hashes: scrypt$N$r$p$salt$hash, written by Python's hashlib.scrypt.
const SCRYPT_PREFIX = "scrypt";
const SCOPES = "openid email";
const STYLE = `body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem;
color:#1f2933;background:#fff}h1{font-size:1.4rem}label{display:block;margin:1rem 0 .25rem}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}button{margin-top:1.25rem;
padding:.6rem 1rem;font-size:1rem;background:#3f51b5;color:#fff;border:0;border-radius:2px;cursor:pointer}
button.secondary{background:#e0e0e0;color:#1f2933;margin-left:.5rem}.error{color:#b00020}
.note{color:#52606d;font-size:.9rem}@media (prefers-color-scheme:dark){body{background:#1e2129;color:#e3e6ea}
.note{color:#a0a8b3}.error{color:#ff8a80}}`;

const [portArgument, stateDirArgument, sitePortArgument] = process.argv.slice(2);
const port = Number(portArgument);
const sitePort = Number(sitePortArgument);
const stateDir = path.resolve(stateDirArgument);
const accountsFile = path.join(stateDir, "accounts.json");
const issuer = `http://127.0.0.1:${port}`;
const siteOrigin = `http://127.0.0.1:${sitePort}`;

function readJson(file, fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return fallback;
    throw error;
  }
}

// Written once, readable by this user only; a second start reads the same keys.
function persisted(file, make) {
  const existing = readJson(file, null);
  if (existing !== null) return existing;
  const value = make();
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  return value;
}

function signingKey() {
  return persisted(path.join(stateDir, "signing-key.json"), () => {
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = privateKey.export({ format: "jwk" });
    return { ...jwk, kid: crypto.randomBytes(8).toString("hex"), alg: "RS256", use: "sig" };
  });
}

function cookieKeys() {
  return persisted(path.join(stateDir, "cookie-keys.json"),
    () => [crypto.randomBytes(32).toString("base64url")]);
}

// Read at each use: `staff add` may have changed the file since the last sign-in.
function accounts() {
  const content = readJson(accountsFile, { accounts: {} });
  return content.accounts || {};
}

function accountBySubject(subject) {
  for (const [email, account] of Object.entries(accounts())) {
    if (account.sub === subject) return { email, ...account };
  }
  return undefined;
}

// A made-up hash to check against when the email is unknown, so both answers take as long.
const UNKNOWN_ACCOUNT_HASH = [SCRYPT_PREFIX, 16384, 8, 1, "AAAAAAAAAAAAAAAAAAAAAA", "A".repeat(43)].join("$");

function passwordMatches(password, stored) {
  const [scheme, n, r, p, salt, hash] = String(stored).split("$");
  if (scheme !== SCRYPT_PREFIX) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = crypto.scryptSync(password, Buffer.from(salt, "base64url"), expected.length,
    { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return crypto.timingSafeEqual(actual, expected);
}

function checkCredentials(email, password) {
  const account = accounts()[String(email).trim().toLowerCase()];
  const matches = passwordMatches(password, account ? account.password_hash : UNKNOWN_ACCOUNT_HASH);
  return account && matches ? account : undefined;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/local-sign-in.css"></head><body>${body}</body></html>`;
}

// The login form posts to this origin; after it, the browser follows redirects to the console.
const SECURITY_HEADERS = {
  "Content-Security-Policy": `default-src 'none'; style-src 'self'; form-action 'self' ${siteOrigin}; `
    + "frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

function send(res, status, html) {
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", ...SECURITY_HEADERS });
  res.end(html);
}

function loginPage(uid, email, error) {
  const message = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : "";
  return page("Sign in: Aftercare staff (local)", `<h1>Aftercare staff sign-in</h1>
<p class="note">The local sign-in provider of <code>make run</code>. Add an account with
<code>.venv/bin/python -m aftercare_local staff add EMAIL --group handlers</code>.</p>${message}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label for="email">Email</label><input id="email" name="email" type="email" required autofocus
 value="${escapeHtml(email || "")}">
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form>`);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
      if (body.length > 10000) {
        req.destroy();
        reject(new Error("form too large"));
      }
    });
    req.on("end", () => resolve(new URLSearchParams(body)));
    req.on("error", reject);
  });
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, page("Sign-in expired", "<h1>This sign-in has expired</h1><p>Start again from the console.</p>"));
    return;
  }
  if (details.prompt.name !== "login") {
    // The console is the retailer's own application: no consent screen, the grant is made here.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details || {};
    grant.addOIDCScope(missing.missingOIDCScope ? missing.missingOIDCScope.join(" ") : SCOPES);
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (action !== "login" || req.method !== "POST") {
    send(res, 200, loginPage(uid));
    return;
  }
  const form = await readForm(req);
  const account = checkCredentials(form.get("email") || "", form.get("password") || "");
  if (!account) {
    send(res, 200, loginPage(uid, form.get("email"), "Wrong email or password."));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: account.sub } },
    { mergeWithLastSubmission: false });
}

async function main() {
  const { default: Provider } = await import("oidc-provider");
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_name: "Aftercare staff console",
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      redirect_uris: [`${siteOrigin}/staff/callback`],
      post_logout_redirect_uris: [`${siteOrigin}/staff/signed-out`],
      id_token_signed_response_alg: "RS256",
    }],
    jwks: { keys: [signingKey()] },
    cookies: { keys: cookieKeys() },
    pkce: { required: () => true },
    responseTypes: ["code"],
    claims: { openid: ["sub", "cognito:groups"], email: ["email", "email_verified"] },
    // The ID token carries email and groups, as Cognito's does, not only the userinfo endpoint.
    conformIdTokenClaims: false,
    ttl: { Session: 8 * 3600, Interaction: 3600, Grant: 8 * 3600, IdToken: 3600, AccessToken: 3600,
      AuthorizationCode: 60 },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.set(SECURITY_HEADERS);
          ctx.body = page("Sign out", `<h1>Sign out of the local sign-in provider?</h1>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.set(SECURITY_HEADERS);
          ctx.body = page("Signed out", "<h1>You are signed out</h1>");
        },
      },
    },
    interactions: { url: (ctx, details) => `/interaction/${details.uid}` },
    findAccount: async (ctx, subject) => {
      const account = accountBySubject(subject);
      if (!account) return undefined;
      return {
        accountId: subject,
        claims: async () => ({
          sub: subject, email: account.email, email_verified: true, "cognito:groups": account.groups,
        }),
      };
    },
    renderError: async (ctx, out) => {
      ctx.type = "html";
      ctx.set(SECURITY_HEADERS);
      ctx.body = page("Sign-in error", `<h1>The sign-in could not go on</h1>
<p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description || "")}</p>`);
    },
  });
  const providerHandler = provider.callback();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([\w-]+)(?:\/(login))?$/);
    if (url.pathname === "/local-sign-in.css") {
      res.writeHead(200, { "Content-Type": "text/css", "Cache-Control": "max-age=3600" });
      res.end(STYLE);
    } else if (match) {
      interaction(provider, req, res, match[1], match[2]).catch((error) => {
        const expired = error.name === "SessionNotFound";
        send(res, expired ? 400 : 500, page("Sign-in error", expired
          ? "<h1>This sign-in has expired</h1><p>Start again from the console.</p>"
          : "<h1>The sign-in failed</h1><p>See the provider's output.</p>"));
        if (!expired) console.error(error);
      });
    } else {
      providerHandler(req, res);
    }
  });
  server.on("error", (error) => {
    console.error(`cannot listen on 127.0.0.1:${port}: ${error.code || error.message}`);
    process.exit(1);
  });
  server.listen(port, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ ready: issuer, client_id: CLIENT_ID }) + "\n");
  });
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
