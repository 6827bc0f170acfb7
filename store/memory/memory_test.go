package memory_test

import (
	"testing"

	"github.com/wsgw/wsgw/store"
	"github.com/wsgw/wsgw/store/memory"
	"github.com/wsgw/wsgw/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memory.New() })
}
