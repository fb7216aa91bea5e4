
o*=N_`q“คตฦื่ (€๒40€ผู๒4R,
la-immigration-houayxaiLA"LA-HOUAYXAIZ bTHTH-CHIANGKHONGj
LA-HOUAYXAI r6Group of 6 young women with one escort, TIP indicators/เบเบฒเบ เบชเบตเบ”เบฒ"LA2possible victim