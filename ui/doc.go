// Package ui is wxscope's terminal UI on Bubble Tea v2: a root model that
// holds a stack of pages (Home, Followers, Person, Links, Doctor), routes
// keys to the page on top, draws a footer with that page's keys, a full-help
// overlay on ?, a jump prompt on : or g, and quits through a cleanup step.
//
// Wiring it up, as cli/tui.go does:
//
//	reader := ui.NewCacheReader(store, apps) // a ui.Reader and ui.PersonFinder over the cache
//	root := ui.NewRoot(ui.Options{
//		Theme:   ui.ThemeFromEnv(os.Getenv), // NO_COLOR → no colour
//		Persons: reader,
//		Cleanup: func() { syncs.StopAll(); syncs.Wait(); store.Close() },
//	})
//	root.Open(ui.NewHome(root.Common(), ui.HomeSpec{
//		CachePath: store.Path(), Apps: homeApps, Reader: reader, Syncs: syncs,
//	}))
//	_, err := tea.NewProgram(root).Run()
//
// The views read data only through the small interfaces in readers.go,
// declared here on the consumer side (FollowerReader, PersonFinder, Reader,
// LinksReader, UnionKeyReader, and Presence); they never call the API, and
// every call runs in a tea.Cmd with Common.Ctx, which quitting cancels.
//
// Each view lives in the files named after it: home.go; followers.go with
// followers_*.go (its index, subsets, presence columns, mouse) and
// viewexport.go (its export); insights.go; person.go; links.go and
// links_groups.go; doctor.go. keys.go and keys_views.go bind every key,
// styles.go holds the styles, cells.go the column helpers, root.go and
// page.go the stack, readers.go and cachereader.go what the views read.
//
// A new view implements Page, takes *Common in its constructor, keeps its
// keys in a KeyMap in keys.go, and sends PushMsg/PopMsg/FlashMsg (Push, Pop,
// Flash) to move around. Its background results and ticks carry the view and
// implement addressed (Owner), so that the root delivers them to that view
// alone, wherever it is in the stack; it offers other non-key messages to
// every page.
//
// Every string that came from the outside world goes through
// sanitize.Text before it is drawn.
//
// Tests drive the root with uitest.Driver at a fixed size and ThemePlain and
// assert on the text of View; flow_test.go runs the real program through
// teatest (wrapped in uitest).
package ui
