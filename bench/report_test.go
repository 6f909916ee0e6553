package main

import "strings"

type stringsBuilder struct{ strings.Builder }

func (s *stringsBuilder) contains(sub string) bool { return strings.Contains(s.String(), sub) }
