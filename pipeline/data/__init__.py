"""The data room: contract tables from files to checked frames.

`reading` finds a table and reads it as written (CSV layout, projection, reader errors as a
`ContractError` naming the file); `values` parses text, times and numbers and holds text to its
length limit; `contract` checks every row against the contract and sets bad rows aside in
quarantine (`load_folder`, `validate`, `tables_from_frames`; `quarantine` writes the files);
`partitions` hash-partitions tables too large to read whole.
"""
