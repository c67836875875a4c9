// Package cache is wxscope's store of followers, one bbolt file, and the sync
// engine that fills it from any Source.
//
// Open a Store in the mode the command needs: SharedReadOnly for the
// read-only TUI and for lookup, links, export and doctor, so that a reader
// holds the file only while one read or chunk runs; Shared for a sync and the
// TUI, so that other processes get in between its writes; ReadWrite (and
// ReadOnly) for tests and tools that own the file. A busy file gives an
// *InUseError naming the writer, never a hang.
//
// Reads: Apps (counters and sync state, no scan), App, Profile, FindOpenID
// (which app has an openid), Members and MemberProfiles (a unionid's
// following openids), Person (a lookup by openid or unionid across apps,
// including the apps a person left), EachProfile and EachAppProfile (one
// app, or all, in key order, in chunks: export and the TUI index), EachUnionKey and EachUnionGroup (the
// unionid index in order, keys only: link analysis). Writes: Sync,
// PutProfiles, SetAppNames. Check verifies the file and its invariants.
// Analyze and Person return facts, never sentences: package wording says
// them in words, for the command line or the TUI.
//
// Invariants, kept by every write in the same transaction: a profile is in
// the unionid index exactly when it has a unionid and still follows, and in
// the former-members index exactly when it has a unionid and does not (so
// groups, overlaps and counts see current followers only, while a lookup by
// unionid still finds the apps the person left); an app's Counts match its
// profiles; the sync cursor never passes an openid
// whose profile is not written.
package cache
