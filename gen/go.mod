module github.com/arkenstone-go/arkenstone/gen

go 1.26
