package fence_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tenure-dev/tenure/fence"
)

func Example() {
	g := fence.New()
	var table []string // the resource: written only inside Do

	write := func(token uint64, row string) {
		err := g.Do("orders", token, func() error {
			table = append(table, row)
			return nil
		})
		var stale *fence.StaleError
		switch {
		case errors.As(err, &stale):
			fmt.Printf("refused %q: token %d < %d\n", row, stale.Token, stale.Highest)
		case err != nil:
			fmt.Println("error:", err)
		}
	}

	write(7, "a") // tenure 7
	write(7, "b") // tenure 7 again, after a renewal
	write(9, "c") // a later tenure
	write(7, "d") // tenure 7's delayed write arrives: refused
	fmt.Println(table)
	// Output:
	// refused "d": token 7 < 9
	// [a b c]
}

// Each key is fenced by the lease of the same name: the route, not the
// request's Lease-Name header, says which lease that is.
func ExampleGuard_Middleware() {
	g := fence.New()
	mux := http.NewServeMux()
	mux.Handle("PUT /keys/{key}", g.Middleware(fence.PathValue("key"),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "written", r.PathValue("key"))
		})))
	send := func(key, leaseName, token string) {
		req := httptest.NewRequest(http.MethodPut, "/keys/"+key, nil)
		if leaseName != "" {
			req.Header.Set(fence.NameHeader, leaseName)
		}
		req.Header.Set(fence.TokenHeader, token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	send("orders", "orders", "9")
	send("orders", "", "7")       // stale for "orders"
	send("orders", "ORDERS", "7") // another lease's name: refused, not checked against "ORDERS"
	send("orders", "", "x")
	// Output:
	// 200 written orders
	// 409 {"error":"stale token","highest":"9","name":"orders","token":"7"}
	// 400 {"error":"fence: lease name does not protect this resource: Lease-Name \"ORDERS\", but this resource is fenced by lease \"orders\""}
	// 400 {"error":"fence: bad fencing request: Fencing-Token header \"x\" is not a decimal uint64"}
}

// A resource protected by one lease binds its name once; no call can name
// another.
func ExampleGuard_Resource() {
	orders, err := fence.New().Resource("orders")
	if err != nil {
		fmt.Println(err)
		return
	}
	var table []string
	write := func(token uint64, row string) {
		err := orders.Do(token, func() error {
			table = append(table, row)
			return nil
		})
		if err != nil {
			fmt.Println(err)
		}
	}
	write(9, "a")
	write(7, "b")
	fmt.Println(table)
	// Output:
	// fence: stale token: lease "orders" token 7 is below highest admitted 9
	// [a]
}
