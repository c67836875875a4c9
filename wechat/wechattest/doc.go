// Package wechattest is an in-process simulator of the WeChat Official
// Account (公众号) server API, in the spirit of net/http/httptest: build a
// World, start a Server on it, and point a client at Server.URL.
//
// It follows docs/wechat-api.md (the fact sheet), quirks included, and
// imports nothing from the client package: a simulator that shared the
// client's types would share its misunderstandings.
//
// # The world
//
// A World is a population of persons, official accounts (apps) and open
// platforms, deterministic from a seed. An app is bound to at most one open
// platform or to none. openid = f(app, person) and unionid = f(platform,
// person): the same person has the same unionid in every app of one
// platform, another one on another platform, and none in an unbound app.
// Ids are 28 characters like real ones: "o", a 5-character prefix shared by
// every id of the app (or platform), 22 url-safe base64 characters. They
// are AES blocks holding the person's index, so an id decodes back to its
// person and an id of another app fails to decode. Who follows an app, in
// which order, comes from a keyed permutation of the population, and every
// profile field from a hash of (app, person), on demand: ten million
// followers cost no memory and no time up front.
//
// Profiles: subscribe_time spread over the nine years before 2025-06-01
// (more recent follows than old ones); remarks mostly empty, some CJK,
// emoji, HTML-ish text and a few hostile terminal sequences (OSC 52
// clipboard writes, title sets, cursor moves and screen clears, C1
// controls, bidi overrides, raw newlines); tags including the system tag 2
// "星标组", a tag named with an escape sequence, and DeletedTagID, which some
// followers carry but tags/get no longer lists; subscribe_scene from the confirmed enum plus ADD_SCENE_REPRINT
// and ADD_SCENE_WXA (unconfirmed, so clients meet values they do not know);
// qr_scene or qr_scene_str only for ADD_SCENE_QR_CODE.
//
// Each app also has a blacklist (AppSpec.Blacklisted of its followers), a
// growth history for datacube (World.Growth: a linear ramp of follows over
// the same nine years, ending the day before the world's today at exactly
// the spec's Followers, with one campaign spike and one mass-unfollow day in
// the last weeks) and may be unverified (AppSpec.Unverified, SetUnverified).
//
// # The server
//
// Endpoints: GET /cgi-bin/token, POST /cgi-bin/stable_token, GET
// /cgi-bin/user/get, GET /cgi-bin/user/info, POST
// /cgi-bin/user/info/batchget, POST /cgi-bin/user/info/updateremark, GET
// /cgi-bin/tags/get, POST /cgi-bin/tags/members/getblacklist, POST
// /datacube/getusersummary and /datacube/getusercumulate, POST
// /cgi-bin/clear_quota (and /v2), POST /cgi-bin/openapi/quota/get.
//
// Every API answer is HTTP 200 with "Content-Type: application/json;
// encoding=utf-8", errors included; errors are {"errcode","errmsg"} with a
// " rid: xxxxxxxx-xxxxxxxx-xxxxxxxx" suffix (and a " hint: [...]" on 40003
// and 40032, as older answers had). Data successes carry no errcode;
// action successes are {"errcode":0,"errmsg":"ok"}. Only injected
// transport faults answer with another status, and paths that are not
// endpoints get a plain 404. Strings go out as raw UTF-8 (no \u escaping
// of non-ASCII, no HTML escaping), "/" optionally as "\/".
//
// Tokens, per app, in two isolated namespaces: each /cgi-bin/token call
// mints a new token and leaves the previous one 300 s (then 40001); any
// token answers 42001 once 7200 s old and 40014 if never issued.
// stable_token returns the same token while more than 300 s remain and a
// new one in the last 300 s, so expires_in is never below 300;
// force_refresh works 20 times a day, 30 s apart, and otherwise returns the
// current token unchanged.
//
// Quotas: daily counters per (app, path) with the documented defaults
// (token 2000, user/get 500, user/info 5,000,000, stable_token 500,000 plus
// 10,000 a minute, updateremark 10,000), reset at midnight UTC+8 on the
// server's Clock; per-minute limits on demand; clear_quota up to 10 times a
// month; openapi/quota/get reports them. Faults (-1 or any errcode, HTTP
// 5xx, a body in place of the answer, a rewrite of the real answer, a reset
// connection, a call never answered, an answer trickled byte by byte),
// latency and token expiry can be injected; Calls counts requests per path.
//
// # Choices where the fact sheet is silent (❓)
//
//   - user/get order: the app's pseudo-random permutation of its members,
//     so fixed, unrelated to follow time and to the openid's spelling; new
//     followers land anywhere (at a random place between two others). The
//     blacklist comes in the same order.
//   - user/get with a next_openid that is not a current follower of the app
//     (malformed, another app's, unfollowed since): 40003. A zero-follower
//     account answers {"total":0,"count":0,"next_openid":""}, like the call
//     after the last page: no data key at all.
//   - batchget: answers in request order, one element per request entry,
//     duplicates included; an openid of another app fails the whole call
//     with 40003, like a malformed one. A well-formed openid of this app
//     whose person never followed answers {"subscribe":0,"openid"} too.
//   - batchget daily quota: 1,000,000 calls (undocumented), settable.
//   - stable_token force_refresh: the replaced token dies at once
//     (WithStableForceGrace to change); the 30 s gap is counted between
//     refreshes that happened; GET answers 43002 "require POST method".
//   - Quota day: midnight UTC+8 (WithDailyReset). Calls counters never
//     reset; quota counters do. A call refused with 45009 or 45011 uses no
//     quota; injected faults use none either. Calls after the token check
//     count against the quota whatever they answer.
//   - openapi/quota/get: errcode 0 is sent; an API without a limit reports
//     daily_limit 0, one without a minute limit rate_limit {0, 0}.
//   - clear_quota needs the token's own appid in the body (40013
//     otherwise).
//   - The IP whitelist (SetIPWhitelist) applies to the two token
//     endpoints only.
//   - user/info ignores lang; legacy blank fields are on by default
//     (WithLegacyBlanks(false) gives the shape of the current docs, without
//     language).
//   - Unverified accounts get 48001 on what the fact sheet marks "verified
//     accounts only" among the endpoints served: tags/get, updateremark and
//     both datacube calls. user/get, user/info, batchget and getblacklist
//     keep answering: the real platform guards the user APIs with a
//     permission set too, but an account that cannot list its followers is
//     of no use to wxscope, and that case is one injected 48001 away.
//   - getblacklist: 1000 a page (WithBlacklistPageSize; the docs disagree),
//     paged like user/get. The blacklist holds current followers only: an
//     unfollow takes the person off. A begin_openid of another app is 49003
//     (errmsg "not same appid", ❓ the text), any other one not on the
//     blacklist 40003. No quota (none documented).
//   - datacube: the figures come from the growth history, not from Follow
//     and Unfollow. Every day has a user_source 0 row, zeros included;
//     other channels have rows on days with a follow or an unfollow.
//     Unfollows are spread over channels like follows. A range ending today
//     or later is an empty list; yesterday appears at 08:00 China time on
//     the server's clock (before, a range ending yesterday lacks that day);
//     days before the history are absent; 61500 for a date that is not
//     exactly yyyy-MM-dd (a missing one included), 61501 for an end before
//     the begin or over 7 days. No quota (none documented).
package wechattest
