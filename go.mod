module github.com/kizuki-dev/kizuki

go 1.26.0

require (
	github.com/ikawaha/kagome-dict/ipa v1.2.6
	github.com/ikawaha/kagome/v2 v2.10.3
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/text v0.44.0
)

require (
	github.com/BobuSumisu/aho-corasick v1.0.3 // indirect
	github.com/ikawaha/kagome-dict v1.1.7 // indirect
)
