"""The report's words, in English and Spanish: titles, captions, chart axes, the call sheet.

`pipeline.exports.texts.t` reads them with the workbook's (`TEXTS` holds both); kept apart only
so each file stays short.
"""

REPORT_TEXTS: dict[str, dict[str, str]] = {
    "report_title": {"en": "Churn risk report", "es": "Informe de riesgo de baja"},
    "report_meta": {"en": "As of {as_of} · model version {version}",
                    "es": "Fecha de corte {as_of} · versión del modelo {version}"},
    "value_covered": {"en": "Value at risk covered", "es": "Valor en riesgo cubierto"},
    "value_covered_text": {"en": "{listed} of {total} ({share})", "es": "{listed} de {total} ({share})"},
    "value_unknown_short": {"en": "unknown (no monthly value in the data)",
                            "es": "desconocido (los datos no incluyen el valor mensual)"},
    "distribution_title": {"en": "Score distribution", "es": "Distribución de las puntuaciones"},
    "distribution_caption": {"en": "Churn probability of all {clients} scored clients. The count axis is "
                                   "logarithmic (1, 10, 100, ...), so the few high scores show beside the many "
                                   "low ones.",
                             "es": "Probabilidad de baja de los {clients} clientes puntuados. El eje del número de "
                                   "clientes es logarítmico (1, 10, 100, ...), para que las pocas puntuaciones "
                                   "altas se vean junto a las muchas bajas."},
    "distribution_x": {"en": "Churn probability", "es": "Probabilidad de baja"},
    "distribution_y": {"en": "Clients (log scale)", "es": "Clientes (escala logarítmica)"},
    "no_scored": {"en": "No clients were scored.", "es": "No se ha puntuado ningún cliente."},
    "band_title": {"en": "Value at risk by risk band", "es": "Valor en riesgo por nivel de riesgo"},
    "band_caption": {"en": "Expected value at risk of the clients on the list and of all scored clients.",
                     "es": "Valor en riesgo esperado de los clientes de la lista y de todos los clientes "
                           "puntuados."},
    "series_listed": {"en": "On the list", "es": "En la lista"},
    "on_the_list": {"en": "On the list", "es": "En la lista"},
    "no_reason": {"en": "(no behaviour, ticket or NPS signal raises this risk: see the context)",
                  "es": "(ninguna señal de uso, tickets o NPS eleva este riesgo: ver el contexto)"},
    "on_the_list_new": {"en": "new", "es": "nuevo"},
    "on_the_list_days": {"en": "{days:day|days}", "es": "{days:día|días}"},  # features.wording.say
    "series_all": {"en": "All scored", "es": "Todos los puntuados"},
    "segment_title": {"en": "Value at risk by segment", "es": "Valor en riesgo por segmento"},
    "quadrant_caption": {"en": "Clients on the list by value quadrant (current value x future value).",
                         "es": "Clientes de la lista por cuadrante de valor (valor actual x valor futuro)."},
    "loyalty_caption": {"en": "Clients on the list by loyalty stage.",
                        "es": "Clientes de la lista por etapa de fidelización."},
    "value_chart_skipped": {"en": "Value charts are left out: the data has no monthly value, so value at risk "
                                  "is unknown. Client counts are shown instead.",
                            "es": "Se omiten los gráficos de valor: los datos no incluyen el valor mensual, "
                                  "así que el valor en riesgo es desconocido. Se muestra el número de clientes."},
    "reasons_title": {"en": "Most frequent reasons", "es": "Motivos más frecuentes"},
    "reasons_caption": {"en": "How many clients on the list have each reason among their top reasons.",
                        "es": "Cuántos clientes de la lista tienen cada motivo entre sus motivos principales."},
    "nps_title": {"en": "NPS of the clients on the list", "es": "NPS de los clientes de la lista"},
    "nps_caption": {"en": "NPS of the list: {listed}. NPS of all scored clients: {portfolio}.",
                    "es": "NPS de la lista: {listed}. NPS de todos los clientes puntuados: {portfolio}."},
    "cost_title": {"en": "Cost of losing vs keeping", "es": "Coste de perder frente a retener"},
    "actions_title": {"en": "Recommended actions", "es": "Acciones recomendadas"},
    "changes_title": {"en": "Changes since the previous list", "es": "Cambios desde la lista anterior"},
    "risk_band_axis": {"en": "Risk band", "es": "Nivel de riesgo"},
    "call_sheet_title": {"en": "Call sheet: whom to call, why, and what to do",
                         "es": "Lista de llamadas: a quién llamar, por qué y qué hacer"},
    "call_sheet_all": {"en": "All {listed} clients on the list, in the order to call them.",
                       "es": "Los {listed} clientes de la lista, en el orden en que hay que llamarlos."},
    "lead": {"en": "Call these {listed} clients first: they hold {listed_value} of the {total_value} expected "
                   "value at risk ({share}) among the {scored} clients scored.",
             "es": "Llame primero a estos {listed} clientes: concentran {listed_value} de los {total_value} de "
                   "valor en riesgo esperado ({share}) entre los {scored} clientes puntuados."},
    "lead_no_value": {"en": "Call these {listed} clients first, of the {scored} clients scored (the data has no "
                            "monthly value, so they are ordered by churn probability).",
                      "es": "Llame primero a estos {listed} clientes, de los {scored} clientes puntuados (los datos "
                            "no incluyen el valor mensual, así que se ordenan por probabilidad de baja)."},
    "lead_empty": {"en": "No client to call today: the list is empty ({scored} clients scored).",
                   "es": "Hoy no hay que llamar a ningún cliente: la lista está vacía ({scored} clientes "
                         "puntuados)."},
    "portfolio_title": {"en": "The whole portfolio", "es": "Toda la cartera"},
    "top_caption": {"en": "The first {shown} of {listed} clients; the full list is in the CSV and XLSX files.",
                    "es": "Los primeros {shown} de {listed} clientes; la lista completa está en los archivos "
                          "CSV y XLSX."},
    "empty_list": {"en": "The list is empty.", "es": "La lista está vacía."},
    "footer": {"en": "Column definitions are in the Definitions sheet of risk_list.xlsx.",
               "es": "Las definiciones de las columnas están en la hoja Definiciones de risk_list.xlsx."},
}
