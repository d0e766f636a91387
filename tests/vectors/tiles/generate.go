// Command generate writes tlog_tiles.json, the C2SP tlog-tiles vectors that
// tests/tlog/test_tiles.py and web/test/tiles.test.js check our tiles against.
//
// It uses only Go's golang.org/x/mod/sumdb/tlog (the origin of tlog-tiles:
// tiles of height 8, level-L tiles holding the hashes at tree level 8L, the
// same three-digit "x" path encoding), never our own code, so the vectors are
// an independent reading of the format:
//
//   - the tree: tlog.StoredHashes over leaves whose data is SHA-256 of the
//     8-byte big-endian index, for sizes 1 … 70000 (the size the C2SP text
//     uses as its example: level-0, level-1 and level-2 partial tiles);
//   - which tiles a tree has: tlog.NewTiles(8, 0, size), keeping the full
//     tiles and the widest partial of each level (the one of that size);
//   - tile paths: tlog.Tile.Path with its "tile/8/" height element dropped
//     (C2SP paths have no height; the rest is the same);
//   - tile bytes: tlog.ReadTileData;
//   - roots and proofs: tlog.TreeHash, tlog.ProveRecord and tlog.ProveTree,
//     reading hashes through tlog.TileHashReader over the tiles generated
//     here (so each proof is one built from tiles, and Go checks every tile
//     it reads against the tree hash);
//   - hashes of nodes between tile levels: tlog.HashFromTile.
//
// Entry bundles have no sumdb equivalent (sumdb's data tiles are
// newline-separated records); they follow the C2SP text: path
// tile/entries/<N>[.p/<W>] with N and W as for level-0 tiles, content the
// entries in order, each a big-endian uint16 length and the entry's bytes.
//
// Run (Debian: apt-get install golang-go golang-golang-x-mod-dev), from the
// repository root:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run tests/vectors/tiles/generate.go > tests/vectors/tiles/tlog_tiles.json
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

var sizes = []int64{1, 7, 255, 256, 257, 1000, 65536, 65539, 70000}

type tileOut struct {
	Path   string `json:"path"`
	Level  int    `json:"level"`
	Index  int64  `json:"index"`
	Width  int    `json:"width"`
	SHA256 string `json:"sha256"`
	Hex    string `json:"hex,omitempty"`
}

type treeOut struct {
	Size    int64     `json:"size"`
	Root    string    `json:"root"`
	Tiles   []tileOut `json:"tiles"`
	Entries []tileOut `json:"entries"`
}

type inclusionOut struct {
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Proof []string `json:"proof"`
}

type consistencyOut struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Proof []string `json:"proof"`
}

type nodeOut struct {
	Size  int64  `json:"size"`
	Level int    `json:"level"`
	Index int64  `json:"index"`
	Hash  string `json:"hash"`
}

type pathOut struct {
	Level int    `json:"level"`
	Index int64  `json:"index"`
	Width int    `json:"width"`
	Path  string `json:"path"`
}

type output struct {
	Comment     string           `json:"comment"`
	LeafData    string           `json:"leaf_data"`
	Paths       []pathOut        `json:"paths"`
	Trees       []treeOut        `json:"trees"`
	Inclusion   []inclusionOut   `json:"inclusion"`
	Consistency []consistencyOut `json:"consistency"`
	Nodes       []nodeOut        `json:"nodes"`
}

// memoryReader serves tiles from a map, as a tile server would.
type memoryReader map[string][]byte

func (m memoryReader) Height() int { return height }

func (m memoryReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, ok := m[t.Path()]
		if !ok {
			return nil, fmt.Errorf("tile %s not generated", t.Path())
		}
		out[i] = data
	}
	return out, nil
}

func (m memoryReader) SaveTiles([]tlog.Tile, [][]byte) {}

func c2spPath(t tlog.Tile) string {
	return "tile/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
}

func leafData(i int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	d := sha256.Sum256(b[:])
	return d[:]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func digest(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

func hexes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func main() {
	maxSize := sizes[len(sizes)-1]
	var stored []tlog.Hash
	storage := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i := int64(0); i < maxSize; i++ {
		hs, err := tlog.StoredHashes(i, leafData(i), storage)
		check(err)
		stored = append(stored, hs...)
	}

	out := output{
		Comment:  "C2SP tlog-tiles vectors from Go's golang.org/x/mod/sumdb/tlog; see generate.go. Hashes and bytes in hex; sha256 is SHA-256 of a tile's or bundle's bytes, hex the bytes themselves where given.",
		LeafData: "leaf i's data is SHA-256 of i as 8 bytes big-endian; its entry is that data",
	}
	for _, t := range []tlog.Tile{
		{H: height, L: 0, N: 0, W: 256}, {H: height, L: 0, N: 999, W: 256}, {H: height, L: 0, N: 1000, W: 256},
		{H: height, L: 0, N: 1234067, W: 256}, {H: height, L: 1, N: 123456789, W: 17},
		{H: height, L: 2, N: 1000000, W: 1}, {H: height, L: 63, N: 1000000000000000, W: 255},
	} {
		out.Paths = append(out.Paths, pathOut{t.L, t.N, t.W, c2spPath(t)})
	}

	trees := map[int64]tlog.Tree{}
	readers := map[int64]memoryReader{}
	for _, size := range sizes {
		root, err := tlog.TreeHash(size, storage)
		check(err)
		trees[size] = tlog.Tree{N: size, Hash: root}
		tree := treeOut{Size: size, Root: hex.EncodeToString(root[:])}
		served := memoryReader{}
		var all []tlog.Tile
		for _, t := range tlog.NewTiles(height, 0, size) {
			if t.W < 1<<height && t.W != int((size>>(uint(height*t.L)))%(1<<height)) {
				continue // a narrower partial of an earlier size
			}
			all = append(all, t)
		}
		for _, t := range all {
			data, err := tlog.ReadTileData(t, storage)
			check(err)
			served[t.Path()] = data
			one := tileOut{Path: c2spPath(t), Level: t.L, Index: t.N, Width: t.W, SHA256: digest(data)}
			if t.W < 1<<height || size == 256 {
				one.Hex = hex.EncodeToString(data)
			}
			tree.Tiles = append(tree.Tiles, one)
			if t.L != 0 {
				continue
			}
			var bundle []byte
			for i := t.N << height; i < t.N<<height+int64(t.W); i++ {
				d := leafData(i)
				bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(d)))
				bundle = append(bundle, d...)
			}
			path := "tile/entries/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/0/", height))
			e := tileOut{Path: path, Level: -1, Index: t.N, Width: t.W, SHA256: digest(bundle)}
			if size <= 7 {
				e.Hex = hex.EncodeToString(bundle)
			}
			tree.Entries = append(tree.Entries, e)
		}
		readers[size] = served
		out.Trees = append(out.Trees, tree)
	}

	for _, p := range [][2]int64{{0, 1}, {0, 7}, {6, 7}, {254, 255}, {255, 256}, {256, 257}, {123, 1000},
		{999, 1000}, {300, 65536}, {65535, 65539}, {12345, 70000}, {65538, 70000}, {69999, 70000}} {
		hr := tlog.TileHashReader(trees[p[1]], readers[p[1]])
		proof, err := tlog.ProveRecord(p[1], p[0], hr) // tree size first, then the index
		check(err)
		check(tlog.CheckRecord(proof, p[1], trees[p[1]].Hash, p[0], stored[tlog.StoredHashIndex(0, p[0])]))
		out.Inclusion = append(out.Inclusion, inclusionOut{p[0], p[1], hexes(proof)})
	}
	for _, p := range [][2]int64{{1, 7}, {7, 255}, {255, 256}, {256, 257}, {7, 1000}, {257, 1000},
		{257, 65539}, {65536, 65539}, {1000, 70000}, {65536, 70000}, {65539, 70000}} {
		hr := tlog.TileHashReader(trees[p[1]], readers[p[1]])
		proof, err := tlog.ProveTree(p[1], p[0], hr) // the larger size first
		check(err)
		check(tlog.CheckTree(proof, p[1], trees[p[1]].Hash, p[0], trees[p[0]].Hash))
		out.Consistency = append(out.Consistency, consistencyOut{p[0], p[1], hexes(proof)})
	}
	// nodes at levels a tile does not store, recombined from one tile's hashes
	for _, n := range []struct {
		size  int64
		level int
		index int64
	}{{257, 1, 0}, {257, 3, 5}, {257, 7, 1}, {1000, 5, 29}, {70000, 9, 135}, {70000, 11, 33},
		{70000, 15, 1}, {70000, 16, 0}, {65539, 13, 7}} {
		t := tlog.TileForIndex(height, tlog.StoredHashIndex(n.level, n.index))
		data, err := readers[n.size].ReadTiles([]tlog.Tile{widest(t, n.size)})
		check(err)
		h, err := tlog.HashFromTile(widest(t, n.size), data[0], tlog.StoredHashIndex(n.level, n.index))
		check(err)
		out.Nodes = append(out.Nodes, nodeOut{n.size, n.level, n.index, hex.EncodeToString(h[:])})
	}

	enc := json.NewEncoder(os.Stdout)
	check(enc.Encode(out))
}

// widest is tile t as the tree of the given size serves it: full, or its partial.
func widest(t tlog.Tile, size int64) tlog.Tile {
	count := size >> uint(height*t.L)
	if t.N<<height+1<<height <= count {
		t.W = 1 << height
	} else {
		t.W = int(count - t.N<<height)
	}
	return t
}
