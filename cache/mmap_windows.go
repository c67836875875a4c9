//go:build windows

package cache

// writeMmapSize is 0 on Windows (bbolt's own growth): there bbolt makes the
// file as large as its map, so a larger first map would turn a small cache
// into a file of that size.
const writeMmapSize = 0
