package wsgw_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/wsgw/wsgw"
)

// filled returns Options with every field set to a non-nil value made from
// tag, so that the tests below cover options added later without change.
func filled(t *testing.T, tag string) wsgw.Options {
	t.Helper()
	var o wsgw.Options
	v := reflect.ValueOf(&o).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			s := reflect.MakeSlice(f.Type(), 1, 1)
			if s.Index(0).Kind() == reflect.String {
				s.Index(0).SetString(tag)
			}
			f.Set(s)
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		default:
			t.Fatalf("option %s is a %s: every option must be a slice, map or pointer, so that a deploy that leaves it out (nil) keeps it",
				v.Type().Field(i).Name, f.Kind())
		}
	}
	return o
}

func TestOptionsKeep(t *testing.T) {
	base, given := filled(t, "base"), filled(t, "given")
	names := wsgw.Options{}.Given()
	if len(names) != 0 {
		t.Fatalf("zero Options give %v", names)
	}
	all := base.Given()
	if len(all) != reflect.TypeFor[wsgw.Options]().NumField() {
		t.Fatalf("Given() = %v, want every option", all)
	}
	if got := (wsgw.Options{}).Keep(base); !reflect.DeepEqual(got, base) {
		t.Errorf("a deploy giving no option kept %+v, want every option of the endpoint %+v", got, base)
	}
	if got := given.Keep(base); !reflect.DeepEqual(got, given) {
		t.Errorf("a deploy giving every option got %+v, want its own %+v", got, given)
	}
	// One option given at a time: that one replaces, the others stay.
	for i, name := range all {
		var one wsgw.Options
		reflect.ValueOf(&one).Elem().Field(i).Set(reflect.ValueOf(given).Field(i))
		if g := one.Given(); !slices.Equal(g, []string{name}) {
			t.Fatalf("Given() = %v, want [%s]", g, name)
		}
		got := reflect.ValueOf(one.Keep(base))
		for j := range got.NumField() {
			want := reflect.ValueOf(base).Field(j)
			if j == i {
				want = reflect.ValueOf(given).Field(j)
			}
			if !reflect.DeepEqual(got.Field(j).Interface(), want.Interface()) {
				t.Errorf("giving only %s: option %s = %v, want %v", name, all[j], got.Field(j), want)
			}
		}
	}
	// Given empty replaces with nothing.
	cleared := wsgw.Options{AllowedOrigins: []string{}}.Keep(wsgw.Options{AllowedOrigins: []string{"x"}})
	if cleared.AllowedOrigins == nil || len(cleared.AllowedOrigins) != 0 {
		t.Errorf("allowed_origins given empty became %v, want empty", cleared.AllowedOrigins)
	}
}

func TestOptionsEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b wsgw.Options
		want bool
	}{
		{wsgw.Options{}, wsgw.Options{AllowedOrigins: []string{}}, true},
		{wsgw.Options{AllowedOrigins: []string{"a"}}, wsgw.Options{AllowedOrigins: []string{"a"}}, true},
		{wsgw.Options{AllowedOrigins: []string{"a"}}, wsgw.Options{}, false},
		{wsgw.Options{AllowedOrigins: []string{"a"}}, wsgw.Options{AllowedOrigins: []string{"b"}}, false},
	} {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%+v.Equal(%+v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
