-- expect: table.move: 999999999999 elements is over the limit
-- table.move copies every index of the range, nils included.
table.move({}, 1, 999999999999, 1, {})
