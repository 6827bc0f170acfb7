module github.com/wsgw/wsgw

go 1.26
