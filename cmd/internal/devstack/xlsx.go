package devstack

import (
	"fmt"
	"os"

	"github.com/xuri/excelize/v2"

	"supportsync.dev/shared/sheets/sheetsfake"
)

// writeXLSX writes the local sheet's tabs as an .xlsx file a spreadsheet program opens:
// dates, numbers, booleans and texts typed, formats and frozen rows kept, formulas as text
// (the fake does not evaluate them). It is the local sheet's exporter.
func writeXLSX(path string, tabs []sheetsfake.Tab) error {
	x := excelize.NewFile()
	defer x.Close()
	styles := map[string]int{}
	style := func(c sheetsfake.Cell) (int, error) {
		key := fmt.Sprintf("%s|%s|%v", c.Format.Type, c.Format.Pattern, c.Bold)
		if id, ok := styles[key]; ok {
			return id, nil
		}
		st := &excelize.Style{}
		if c.Bold {
			st.Font = &excelize.Font{Bold: true}
		}
		if _, isNum := c.Value.(float64); isNum && c.Format.Pattern != "" && c.Format.Type != "TEXT" {
			p := c.Format.Pattern
			st.CustomNumFmt = &p
		} else if isNum && isDate(c.Format.Type) {
			p := "yyyy-mm-dd hh:mm:ss"
			st.CustomNumFmt = &p
		}
		id, err := x.NewStyle(st)
		styles[key] = id
		return id, err
	}
	names := map[string]bool{}
	for i, s := range tabs {
		name := s.Title
		if len([]rune(name)) > 31 {
			name = string([]rune(name)[:31])
		}
		for names[name] {
			name = fmt.Sprintf("%.28s_%d", name, i)
		}
		names[name] = true
		if i == 0 {
			if err := x.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := x.NewSheet(name); err != nil {
			return err
		}
		sw, err := x.NewStreamWriter(name)
		if err != nil {
			return err
		}
		if s.Frozen > 0 {
			cell, _ := excelize.CoordinatesToCellName(1, s.Frozen+1)
			if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: s.Frozen, TopLeftCell: cell, ActivePane: "bottomLeft"}); err != nil {
				return err
			}
		}
		for r, cells := range s.Rows {
			row := make([]any, len(cells))
			for c, cell := range cells {
				if !cell.HasValue() {
					continue
				}
				id, err := style(cell)
				if err != nil {
					return err
				}
				v := cell.Value
				if cell.Formula {
					v = fmt.Sprint(v) // kept as text: the fake does not evaluate formulas
				}
				row[c] = excelize.Cell{StyleID: id, Value: v}
			}
			addr, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := sw.SetRow(addr, row); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	buf, err := x.WriteToBuffer()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func isDate(t string) bool { return t == "DATE" || t == "TIME" || t == "DATE_TIME" }
